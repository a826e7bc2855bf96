//! One server for an external load generator (`scripts/load.sh` drives it with wrk):
//! the same route, `GET /fabric/api/flows`, answering the same body, served by
//!
//! - `bare`: axum alone, no authentication (the ceiling); with
//!   `PW_AUTH_LOAD_BUSY_NS=n` its handler first does about `n` ns of plain CPU work
//!   (calibrated at start), to show what that much work a request costs here;
//! - `floor`: axum behind the least any API-key layer does, written here with
//!   `axum::middleware::from_fn` and no pw-auth adapter: the key parsed from
//!   `Authorization`, hashed (SHA-256) and looked up in a map, its company handed to
//!   the handler, 401 if unknown — no expiry, no decision, no budget, no audit, no
//!   `RateLimit` fields; what the guard's work is measured against (not a server to
//!   deploy); `floor-handler` does the same in the handler, with no layer;
//! - `guard`: axum with `pw-auth-axum`'s guard on its in-memory store;
//! - `server`: the reference server, on a fresh SQLite file (its audit log committed
//!   with `synchronous = FULL` when `PW_AUTH_AUDIT_SYNC=full`), or on PostgreSQL when
//!   `PW_AUTH_POSTGRES_URL` is set (an empty database), its budgets on Redis when
//!   `PW_AUTH_REDIS_URL` is set too; with `PW_AUTH_LOAD_METRICS=127.0.0.1:PORT` it
//!   serves `/metrics` there, whose request and store-call latencies tell where a
//!   request's time goes (`docs/performance.md`).
//!
//! Every authenticated variant gets one API key of acme (professional), which every
//! request sends; `guard` and `server` also a quota no run reaches, so each of their
//! requests is authenticated, authorised, charged and audited and answered 200 (the
//! `floor` variants only look the key up). It prints `READY <port> <key>` on one line, then serves until
//! SIGTERM or SIGINT (the `server` variant then removes its SQLite records).
//!
//! `cargo run --release -p pw-auth-server --example load_target -- bare|floor|floor-handler|guard|server`
#![expect(clippy::print_stderr, reason = "a wrong variant is said on stderr")]
#![expect(
    clippy::expect_used,
    reason = "a load target stops loudly on a broken set-up"
)]

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use pw_auth_axum::{ActingIn, CompanyInfo, MemoryStore, PwAuth};
use pw_auth_core::{
    ApiKeyDigest, CompanyId, CredentialDigest, KeyLabel, MintedApiKey, Policy, PolicyDocument,
    Tier, mint_api_key,
};
use pw_auth_http::{Responder, ServerFlow, credential_ref_from_headers};
use pw_auth_server::{AuditSync, Config, RecordsAt, os_random, start};
use time::OffsetDateTime;

/// The body every variant answers, as the reference server's flows route does.
fn flows_body(company: &CompanyId) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "company": company,
        "data": [{"id": "orders-to-erp", "enabled": true}, {"id": "stock-sync", "enabled": false}],
    }))
}

async fn guarded_flows(ActingIn(company): ActingIn) -> impl IntoResponse {
    flows_body(&company)
}

/// The company of the request's API key, by its digest: all the `floor` variants
/// check.
fn key_company(
    keys: &HashMap<ApiKeyDigest, CompanyId>,
    headers: &http::HeaderMap,
) -> Option<CompanyId> {
    match credential_ref_from_headers(headers) {
        Ok(Some(credential)) => match credential.digest() {
            CredentialDigest::ApiKey(digest) => keys.get(&digest).cloned(),
            CredentialDigest::Bearer(_) => None,
        },
        _ => None,
    }
}

/// The `floor` variant's layer: the key's company, or 401.
async fn floor_layer(
    keys: Arc<HashMap<ApiKeyDigest, CompanyId>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match key_company(&keys, request.headers()) {
        Some(company) => {
            request.extensions_mut().insert(company);
            next.run(request).await
        }
        None => http::StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn floor_flows(Extension(company): Extension<CompanyId>) -> impl IntoResponse {
    flows_body(&company)
}

/// The API key every authenticated variant is loaded with: one of `company`'s.
fn load_key(company: &CompanyId) -> MintedApiKey {
    mint_api_key(
        company,
        KeyLabel::new("load").expect("a label"),
        &os_random().expect("random bytes"),
        OffsetDateTime::now_utc(),
    )
    .expect("a key")
}

/// The default policy with a quota no load run reaches.
fn roomy_policy() -> Policy {
    let mut doc: PolicyDocument =
        serde_json::from_str(Policy::default_document_json()).expect("the default policy");
    doc.quotas = serde_json::from_value(serde_json::json!({
        "professional": {"limit": 1_000_000_000, "period_secs": 1}
    }))
    .expect("a quota");
    Policy::compile(&doc).expect("the load policy")
}

/// How many rounds of [`burn`] take `PW_AUTH_LOAD_BUSY_NS` nanoseconds on this
/// machine (none when it is unset or 0): the fastest of five trials, the one least
/// disturbed. For the `bare` variant, so that a run can show what a given amount of
/// work a request costs bare axum's throughput here (`docs/performance.md`).
fn busy_rounds() -> u64 {
    let ns: u128 = std::env::var("PW_AUTH_LOAD_BUSY_NS")
        .ok()
        .map(|v| v.parse().expect("PW_AUTH_LOAD_BUSY_NS: nanoseconds"))
        .unwrap_or(0);
    if ns == 0 {
        return 0;
    }
    const TRIAL: u64 = 2_000_000;
    let fastest = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            burn(TRIAL);
            start.elapsed().as_nanos().max(1)
        })
        .min()
        .unwrap_or(1);
    let rounds = u128::from(TRIAL).saturating_mul(ns).checked_div(fastest);
    rounds.map_or(0, |r| u64::try_from(r).unwrap_or(u64::MAX))
}

/// `rounds` dependent multiply-adds the optimiser cannot drop: CPU work and nothing
/// else (no memory, no allocation, no system call).
fn burn(rounds: u64) {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..rounds {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    std::hint::black_box(x);
}

fn ready(port: u16, key: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {port} {key}").expect("stdout");
    out.flush().expect("stdout");
}

/// When the process is told to stop: SIGTERM (`kill`) or SIGINT (Ctrl-C).
async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn listen() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port")
}

#[tokio::main]
async fn main() {
    let variant = std::env::args().nth(1).unwrap_or_default();
    let acme = CompanyId::new("acme").expect("an id");
    match variant.as_str() {
        "bare" => {
            let busy = busy_rounds();
            let app = Router::new().route(
                "/fabric/api/flows",
                get(move || {
                    let acme = acme.clone();
                    async move {
                        burn(busy);
                        flows_body(&acme)
                    }
                }),
            );
            let listener = listen().await;
            ready(listener.local_addr().expect("bound").port(), "-");
            axum::serve(listener, app).await.expect("serve");
        }
        "floor" | "floor-handler" => {
            let minted = load_key(&acme);
            let keys = Arc::new(HashMap::from([(minted.record.digest, acme.clone())]));
            let route = if variant == "floor" {
                get(floor_flows).route_layer(axum::middleware::from_fn(move |request, next| {
                    floor_layer(Arc::clone(&keys), request, next)
                }))
            } else {
                get(move |request: axum::extract::Request| async move {
                    match key_company(&keys, request.headers()) {
                        Some(company) => flows_body(&company).into_response(),
                        None => http::StatusCode::UNAUTHORIZED.into_response(),
                    }
                })
            };
            let app = Router::new().route("/fabric/api/flows", route);
            let listener = listen().await;
            ready(
                listener.local_addr().expect("bound").port(),
                minted.key.expose_secret(),
            );
            axum::serve(listener, app).await.expect("serve");
        }
        "guard" => {
            let minted = load_key(&acme);
            let store = MemoryStore::default();
            store.add_company(
                acme.clone(),
                CompanyInfo {
                    tier: Tier::Professional,
                    parent: None,
                },
            );
            store.add_minted(&minted);
            let responder = Responder::new("patchworks").expect("a realm");
            let auth = PwAuth::new(ServerFlow::new(roomy_policy(), responder), store);
            let app = Router::new().route(
                "/fabric/api/flows",
                get(guarded_flows).route_layer(auth.require("flows.view").expect("an action")),
            );
            let listener = listen().await;
            ready(
                listener.local_addr().expect("bound").port(),
                minted.key.expose_secret(),
            );
            axum::serve(listener, app).await.expect("serve");
        }
        "server" => {
            let dir = std::env::temp_dir().join(format!("pw-auth-load-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("a temporary directory");
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .expect("a private directory");
            }
            let records = match std::env::var("PW_AUTH_POSTGRES_URL") {
                Ok(url) => RecordsAt::Postgres(url),
                Err(_) => RecordsAt::Sqlite(dir.join("records.sqlite")),
            };
            let mut config = Config::on(records, "127.0.0.1:0".parse().expect("an address"));
            config.seed_demo = true;
            config.redis = std::env::var("PW_AUTH_REDIS_URL").ok();
            config.metrics_listen = std::env::var("PW_AUTH_LOAD_METRICS")
                .ok()
                .map(|a| a.parse().expect("PW_AUTH_LOAD_METRICS: an address"));
            config.policy = roomy_policy();
            if std::env::var("PW_AUTH_AUDIT_SYNC").as_deref() == Ok("full") {
                config.audit_sync = AuditSync::Full;
            }
            let running = start(config).await.expect("the server starts");
            let minted = load_key(&acme);
            running
                .db()
                .add_key(minted.record.clone(), minted.user.clone())
                .await
                .expect("the key stored");
            ready(running.addr().port(), minted.key.expose_secret());
            // Stopped by a signal (as `scripts/load.sh` stops it): the server first,
            // then its records, which a load run grows by gigabytes.
            stopped().await;
            running.stop().await.expect("the server stops");
            std::fs::remove_dir_all(&dir).expect("the records removed");
        }
        other => {
            eprintln!(
                "unknown variant `{other}`: expected bare, floor, floor-handler, guard or server"
            );
            std::process::exit(2);
        }
    }
}
