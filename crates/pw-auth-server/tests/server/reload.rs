//! The policy from a file, reloaded on `SIGHUP` and by `Running::reload_policy`: from
//! the next request on, decisions and audit records use and name the new policy; a
//! file that fails to compile, or drops a route's action, keeps the running one.

use std::path::Path;
use std::time::Duration;

use pw_auth_server::PolicyFileError;

use crate::fixture::{Backend, Fixture, Stores, TestClock, bearer};

/// The default policy with `flows.view` raised to `min_role` and the version `version`.
fn policy_text(min_role: &str, version: &str) -> String {
    let mut doc: serde_json::Value =
        serde_json::from_str(pw_auth_core::Policy::default_document_json()).unwrap();
    doc["version"] = version.into();
    for action in doc["actions"].as_array_mut().unwrap() {
        if action["id"] == "flows.view" {
            action["min_role"] = min_role.into();
        }
    }
    serde_json::to_string_pretty(&doc).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

async fn flows_status(http: &reqwest::Client, f: &Fixture, who: &str) -> u16 {
    http.get(f.url("/fabric/api/flows"))
        .header("authorization", who)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The policy named in the newest audit record.
async fn newest_audit_policy(f: &Fixture) -> String {
    let records = f.server.db().audit_records().await.unwrap();
    records.last().unwrap()["policy"]
        .as_str()
        .unwrap()
        .to_owned()
}

on_both_stores!(a_policy_file_is_served_and_reloaded_on_sighup_and_a_broken_one_is_not,);

async fn a_policy_file_is_served_and_reloaded_on_sighup_and_a_broken_one_is_not(backend: Backend) {
    let stores = Stores::on(backend, "reload");
    let file = stores.dir().join("policy.json");
    write(&file, &policy_text("manager", "strict-1"));
    let f = Fixture::with(stores, TestClock::default(), |c| {
        c.policy_file = Some(file.clone());
    })
    .await;
    let strict = f.server.policy_id();
    assert!(
        strict.starts_with("patchworks-default@strict-1+"),
        "{strict}"
    );
    let http = reqwest::Client::new();
    let uma = bearer(&http, &f.server, "uma@acme.example", "uma-demo-password").await;
    assert_eq!(
        flows_status(&http, &f, &uma).await,
        403,
        "a user, below manager"
    );
    // The audit is written before the answer: the record is there now.
    assert_eq!(newest_audit_policy(&f).await, strict);

    // SIGHUP, as an operator sends it: the next requests use the new policy.
    write(&file, &policy_text("read-only", "open-2"));
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut reloaded = false;
    for _ in 0..100 {
        if f.server.policy_id() != strict {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "SIGHUP reloads within 5 s");
    let open = f.server.policy_id();
    assert!(open.starts_with("patchworks-default@open-2+"), "{open}");
    assert_eq!(flows_status(&http, &f, &uma).await, 200);
    assert_eq!(newest_audit_policy(&f).await, open);

    // A file that does not compile: refused with its line, the running policy kept.
    write(&file, "{\n  \"name\": \"broken\",\n  \"version\": 3,\n}");
    let e = f.server.reload_policy().await.unwrap_err();
    assert!(matches!(e, PolicyFileError::Policy { .. }), "{e:?}");
    let shown = format!("{}", pw_auth_server::Chain(&e));
    assert!(shown.contains("line "), "located: {shown}");
    assert_eq!(f.server.policy_id(), open);
    assert_eq!(flows_status(&http, &f, &uma).await, 200);

    // A policy without an action a route is guarded by: refused, kept.
    let mut doc: serde_json::Value = serde_json::from_str(&policy_text("read-only", "x")).unwrap();
    doc["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["id"] != "flows.deploy");
    write(&file, &doc.to_string());
    let e = f.server.reload_policy().await.unwrap_err();
    match &e {
        PolicyFileError::Route { source, .. } => assert_eq!(source.action(), "flows.deploy"),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.server.policy_id(), open);

    // A missing file: refused, kept; and back to the strict one by the method.
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(
        f.server.reload_policy().await,
        Err(PolicyFileError::Read { .. })
    ));
    write(&file, &policy_text("manager", "strict-1"));
    assert_eq!(f.server.reload_policy().await.unwrap(), strict);
    assert_eq!(flows_status(&http, &f, &uma).await, 403);
    f.stop().await;
}

/// A server whose policy file does not compile does not start, and says where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_policy_file_refuses_the_start_with_its_location() {
    let stores = Stores::sqlite("reload-broken");
    let file = stores.dir().join("policy.json");
    write(
        &file,
        "{\"name\": \"x\", \"version\": \"1\", \"actions\": [\n  {\"id\": \"nodot\"}\n]}",
    );
    let mut config = stores.config();
    config.policy_file = Some(file);
    let e = pw_auth_server::start(config).await.unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("policy.json") && shown.contains("line 2"),
        "{shown}"
    );
    // A server without a policy file has nothing to reload.
    let f = Fixture::start(Backend::Sqlite, "reload-none").await;
    assert!(matches!(
        f.server.reload_policy().await,
        Err(PolicyFileError::NoFile)
    ));
    f.stop().await;
}
