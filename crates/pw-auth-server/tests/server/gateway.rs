//! The forward-auth endpoint behind a real nginx (the distribution's package, which
//! `.ci/services` installs): the test writes nginx's configuration — the one
//! `docs/gateways.md` shows — and starts it on loopback in front of a tiny upstream
//! that echoes the identity headers it receives. Every path goes through nginx:
//! allowed (the upstream sees who), 401 with its challenge, 403, 429 with
//! `Retry-After`, an unmapped route, and a client's spoofed identity header, which
//! never reaches the upstream.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pw_auth_core::Policy;

use crate::fixture::{Fixture, Stores, TestClock, ann_token_and_key};
use crate::temp_dir::temp_dir;

/// nginx's configuration for a gateway on `port` in front of `upstream`, asking the
/// server at `authz` — `docs/gateways.md` shows the same, and a test there checks
/// that it does.
pub(crate) fn nginx_conf(dir: &Path, port: u16, authz: u16, upstream: u16) -> String {
    let d = dir.display();
    let gateway = include_str!("../../../../docs/gateway-nginx.conf")
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{authz}"))
        .replace("127.0.0.1:9000", &format!("127.0.0.1:{upstream}"))
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         {gateway}\n}}\n"
    )
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is installed (bash .ci/services installs it)")
}

/// A free loopback port (bound, read and released: nginx binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx, stopped (and waited for) when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        // TERM: a fast shutdown of the master and its worker.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(dir: &Path, port: u16, authz: u16, upstream: u16) -> Nginx {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir, port, authz, upstream)).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut nginx = Nginx {
        child,
        dir: dir.to_owned(),
    };
    for _ in 0..250 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return nginx;
        }
        if let Ok(Some(status)) = nginx.child.try_wait() {
            let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
            panic!("nginx exited with {status}: {log}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nginx did not listen on {port}");
}

/// The upstream: answers every request with the identity headers it was sent.
async fn upstream() -> (u16, tokio::task::JoinHandle<()>) {
    async fn echo(headers: http::HeaderMap) -> axum::Json<serde_json::Value> {
        let mut seen = serde_json::Map::new();
        for (name, value) in &headers {
            let name = name.as_str();
            if name.starts_with("x-pw-") || name == "authorization" {
                seen.insert(name.to_owned(), value.to_str().unwrap_or("?").into());
            }
        }
        axum::Json(serde_json::Value::Object(seen))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(echo);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_every_path_of_the_forward_auth_endpoint() {
    // A quota of three requests a minute for professional companies: the fourth is
    // the 429.
    let mut doc: serde_json::Value = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc["quotas"] =
        serde_json::json!({"professional": {"limit": 3, "period_secs": 60, "burst": 3}});
    let policy = Policy::from_json(&doc.to_string()).unwrap();
    let f = Fixture::with(Stores::sqlite("gateway"), TestClock::default(), |c| {
        c.policy = policy;
        c.authz_routes = [
            "GET /api/flows flows.view",
            "POST /api/flows/{id}/deploy flows.deploy",
            "POST /api/blueprints/{id}/publish blueprints.publish",
        ]
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
    })
    .await;
    let (token, key) = ann_token_and_key(&f.server).await;
    let (up, upstream_task) = upstream().await;
    let dir = temp_dir("nginx");
    let port = free_port();
    let nginx = start_nginx(&dir, port, f.server.addr().port(), up);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    // Allowed: the upstream learns who, from the gateway, never from the client.
    let r = http
        .get(url("/api/flows?page=2"))
        .header("authorization", &token)
        .header("x-pw-user", "mallory")
        .header("x-pw-role", "administrator")
        .header("x-pw-principal-company", "globex")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rate = r
        .headers()
        .get("ratelimit")
        .map(|v| v.to_str().unwrap().to_owned());
    let seen: serde_json::Value = r.json().await.unwrap();
    assert_eq!(seen["x-pw-user"], "ann", "{seen}");
    assert_eq!(seen["x-pw-company"], "acme");
    assert_eq!(seen["x-pw-role"], "administrator");
    assert_eq!(
        seen["x-pw-principal-company"], "acme",
        "the client's own copy replaced"
    );
    assert!(
        seen.get("x-pw-custom-role").is_none(),
        "an empty value removes it: {seen}"
    );
    assert!(
        seen.get("authorization").is_none(),
        "the credential stays at the gateway"
    );
    assert!(
        rate.is_some_and(|v| v.contains("r=")),
        "the RateLimit field passes"
    );

    // 401 with its challenge; a spoofed identity without credentials gets nowhere.
    let r = http
        .get(url("/api/flows"))
        .header("x-pw-user", "ann")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"patchworks\""),
        "{challenge}"
    );

    // 403: an API key may not publish blueprints; an unmapped route is denied.
    let r = http
        .post(url("/api/blueprints/b1/publish"))
        .header("authorization", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(url("/api/elsewhere"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no route, no access");

    // 429 with Retry-After once acme's three requests a minute are spent.
    let mut limited = None;
    for _ in 0..5 {
        let r = http
            .post(url("/api/flows/f1/deploy"))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let r = limited.expect("a 429 within five requests");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    // Each decision is in the audit log, made by the same flow as any route.
    let records = f.server.db().audit_records().await.unwrap();
    let kinds: Vec<&str> = records
        .iter()
        .filter_map(|r| r["reason"]["kind"].as_str())
        .collect();
    for kind in [
        "allowed",
        "unauthenticated",
        "administrator_only",
        "over_limit",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    drop(nginx);
    upstream_task.abort();
    f.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_endpoint_without_a_gateways_headers_or_a_route_refuses() {
    let f = Fixture::with(Stores::sqlite("authz-direct"), TestClock::default(), |c| {
        c.authz_routes = vec!["GET /api/flows flows.view".parse().unwrap()];
    })
    .await;
    let (token, _) = ann_token_and_key(&f.server).await;
    let http = reqwest::Client::new();
    let ask = |method: Option<&str>, uri: Option<&str>| {
        let mut r = http.get(f.url("/authz")).header("authorization", &token);
        if let Some(m) = method {
            r = r.header("x-original-method", m);
        }
        if let Some(u) = uri {
            r = r.header("x-forwarded-uri", u);
        }
        r.send()
    };
    assert_eq!(ask(None, Some("/api/flows")).await.unwrap().status(), 400);
    assert_eq!(ask(Some("GET"), None).await.unwrap().status(), 400);
    assert_eq!(
        ask(Some("POST"), Some("/api/flows"))
            .await
            .unwrap()
            .status(),
        403
    );
    let r = ask(Some("GET"), Some("/api/flows")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-pw-user"], "ann");
    assert_eq!(r.headers()["x-pw-principal-company"], "acme");
    assert_eq!(
        r.headers()["x-pw-custom-role"],
        "",
        "always sent, empty for none"
    );
    assert!(r.headers().contains_key("x-decision-id"));
    // Envoy's way: the original method, and the original path after /authz.
    let envoy = |method: reqwest::Method, path: &str| {
        http.request(method, f.url(&format!("/authz{path}")))
            .header("authorization", &token)
            .send()
    };
    let r = envoy(reqwest::Method::GET, "/api/flows?page=2")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-pw-role"], "administrator");
    let r = envoy(reqwest::Method::DELETE, "/api/flows").await.unwrap();
    assert_eq!(r.status(), 403, "no route for DELETE");
    f.stop().await;
    // A route whose action the policy does not have refuses the start.
    let stores = Stores::sqlite("authz-unknown");
    let mut config = stores.config();
    config.authz_routes = vec!["GET /api/x flows.fly".parse().unwrap()];
    assert!(pw_auth_server::start(config).await.is_err());
}

/// Asked for, the legacy `X-RateLimit-*` fields come beside the draft's, on a route
/// and on the decision endpoint alike.
#[tokio::test]
async fn the_legacy_limit_fields_come_when_asked_for() {
    let f = Fixture::with(Stores::sqlite("legacy-limits"), TestClock::default(), |c| {
        c.legacy_limit_headers = true;
        c.authz_routes = vec!["GET /api/flows flows.view".parse().unwrap()];
    })
    .await;
    let (token, _) = ann_token_and_key(&f.server).await;
    let http = reqwest::Client::new();
    let r = http
        .get(f.url("/fabric/api/flows"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit"], "240");
    let left: u32 = r.headers()["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(left < 240, "{left}");
    assert!(r.headers().contains_key("ratelimit"), "beside the draft's");
    let r = http
        .get(f.url("/authz"))
        .header("authorization", &token)
        .header("x-original-method", "GET")
        .header("x-original-uri", "/api/flows")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit"], "240");
    f.stop().await;
    // Off by default.
    let f = Fixture::with(Stores::sqlite("no-legacy"), TestClock::default(), |_| {}).await;
    let (token, _) = ann_token_and_key(&f.server).await;
    let r = http
        .get(f.url("/fabric/api/flows"))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("x-ratelimit-limit"));
    f.stop().await;
}
