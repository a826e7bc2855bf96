//! The OpenAPI 3.1 document (`docs/openapi.json`, served at `/openapi.json`): it
//! names every route the server's code declares and no other, and schemathesis
//! (PyPI; `.ci/services` installs it into `target/ci-venv`) runs against a server on
//! loopback with a bounded number of examples and a fixed seed: no 5xx, every
//! status, content type, header and body as the document says, and the
//! authentication checks (a guarded route without or with a wrong credential is
//! refused). The run is reproducible: `target/ci-venv/bin/schemathesis run` with
//! the arguments below.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::fixture::{Fixture, Stores, TestClock, bearer};

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.route("PATH", METHOD(…)` in the server's sources, as (METHOD, PATH) in the
/// document's spelling: `{*rest}` is `{rest}`, and `any` is the five methods the
/// document lists for it.
fn declared_routes() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("observe.rs")];
    for entry in std::fs::read_dir(src.join("routes")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let rest = text[at + ".route(".len()..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                continue;
            };
            let (path, rest) = rest.split_once('"').unwrap();
            let rest = rest.trim_start().strip_prefix(',').unwrap().trim_start();
            let method: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let method = method.rsplit("::").next().unwrap().to_owned();
            let path = path.replace("{*", "{");
            let methods: Vec<&str> = match method.as_str() {
                "any" => vec!["get", "post", "put", "patch", "delete"],
                m @ ("get" | "post" | "put" | "patch" | "delete") => vec![m],
                other => panic!("{}: a route by {other}", file.display()),
            };
            for m in methods {
                routes.insert((m.to_owned(), path.clone()));
            }
        }
    }
    routes
}

fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.clone(), path.clone()));
        }
    }
    routes
}

/// `docs/openapi.json` is what `scripts/openapi.py` writes (edited there, written
/// once).
#[test]
fn the_document_is_what_its_script_writes() {
    let out = std::process::Command::new(root().join("target/ci-venv/bin/python"))
        .arg(root().join("scripts/openapi.py"))
        .output()
        .expect("run .ci/services first: it makes target/ci-venv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(root().join("docs/openapi.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == text,
        "docs/openapi.json differs from what scripts/openapi.py writes: run \
         `python3 scripts/openapi.py > docs/openapi.json`"
    );
}

#[test]
fn the_document_names_every_declared_route_and_no_other() {
    let text = std::fs::read_to_string(root().join("docs/openapi.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let declared = declared_routes();
    // The parser found the routers (a sanity check on the parser itself).
    assert!(declared.len() >= 30, "{declared:?}");
    assert!(declared.contains(&("delete".into(), "/fabric/api/api-keys/{id}".into())));
    assert!(declared.contains(&("get".into(), "/metrics".into())));
    let documented = documented_routes(&doc);
    let missing: Vec<_> = declared.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&declared).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "routes the server does not have: {extra:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_every_answer_conforms() {
    let schemathesis = root().join("target/ci-venv/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "{} is missing: run .ci/services (the README's test command does)",
        schemathesis.display()
    );
    let f = Fixture::with(Stores::sqlite("openapi"), TestClock::default(), |c| {
        // Room for the run: neither the company's budget nor the failure throttle
        // (the unauthenticated requests of the authentication checks) is what is
        // tested here; both have tests of their own.
        c.policy = crate::soak::roomy_policy();
        c.failure_quota = pw_auth_core::Quota::new(1_000_000, 60, 1_000_000).unwrap();
        c.authz_routes = vec!["GET /fabric/api/flows flows.view".parse().unwrap()];
    })
    .await;
    let http = reqwest::Client::new();
    // The document the server serves is the repository's.
    let served = http.get(f.url("/openapi.json")).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let text = std::fs::read_to_string(root().join("docs/openapi.json")).unwrap();
    assert_eq!(served.text().await.unwrap(), text);

    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let base = f.url("");
    let base = base.trim_end_matches('/').to_owned();
    // Its output to files (a pipe left unread could fill and stall it), and a
    // bound on its time: killed past five minutes.
    let out_path = f.stores.dir().join("schemathesis.out");
    let err_path = f.stores.dir().join("schemathesis.err");
    let mut child = std::process::Command::new(&schemathesis)
        .args(["run", &format!("{base}/openapi.json"), "--url", &base])
        .args(["-H", &format!("Authorization: {ann}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance,ignored_auth",
        ])
        // ann's token would be revoked by its own logout halfway through the run.
        .args(["--exclude-path", "/fabric/api/logout"])
        .args(["--max-examples", "10", "--seed", "1", "--workers", "2"])
        .args(["--no-color"])
        // Its cache (`.schemathesis/`) goes to the test's directory, not the crate's.
        .current_dir(f.stores.dir())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut status = None;
    for _ in 0..3000 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("schemathesis did not finish within 5 minutes");
    };
    let out = std::process::Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis failed:\n{stdout}\n{stderr}"
    );
    // It ran: every operation but the excluded one was tested.
    assert!(stdout.contains("Tested: 43"), "{stdout}");
    f.stop().await;
}
