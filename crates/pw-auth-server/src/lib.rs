//! # pw-auth-server
//!
//! The reference server: the platform's endpoints on pw-auth, with every record in an
//! embedded SQLite database (a file, created and migrated on first start) — or, for
//! several servers sharing one state, in PostgreSQL with the usage budgets on Redis
//! ([`RecordsAt`], [`Config::redis`]; `docs/scaling.md`). It shows what a server built
//! on pw-auth does and is tested over real loopback HTTP; all authentication and
//! authorisation is the sans-IO flow's, reached through `pw-auth-axum`.
//!
//! | endpoint | action | |
//! |---|---|---|
//! | `POST /fabric/api/login` | — | `{"username", "password"}` → `{"message", "token", "expires_in"}` |
//! | `POST /fabric/api/logout` | `company.view` | revokes the bearer token it is sent with |
//! | `GET /fabric/api/api-keys` | `api-keys.list` | the company's keys (never a key or digest) |
//! | `POST /fabric/api/api-keys` | `api-keys.create` | `{"label"}` → 201, the new key shown once |
//! | `POST /fabric/api/api-keys/{id}/revoke` | `api-keys.revoke` | |
//! | `DELETE /fabric/api/api-keys/{id}` | `api-keys.delete` | 204 |
//! | `GET /fabric/api/flows` | `flows.view` | |
//! | `POST /fabric/api/flows/{id}/deploy` | `flows.deploy` | |
//! | `POST /fabric/api/blueprints/{id}/publish` | `blueprints.publish` | administrators only |
//! | `POST /fabric/api/scripts` | `scripts.create` | gated by tier |
//!
//! A request acts in its caller's own company, or in the linked company named by an
//! `X-Company` header. Any store failure answers 503, never an allow.

#![forbid(unsafe_code)]

pub mod db;
pub mod limits;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{
    ActingIn, AuthStore, Authenticated, PwAuth, StoreError, outcome_response, unavailable,
};
use pw_auth_core::{
    ApiKeyId, AuditRecord, AuthMethod, CompanyId, ExpiresIn, KeyLabel, LoginResult, Password,
    Policy, Role, Tier, UserId, UserRecord, mint_api_key,
};
use pw_auth_http::{
    MAX_LOGIN_BODY_LEN, PLATFORM_MAX_PAYLOAD, Responder, ServerFlow, created_key_body, key_json,
};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use db::{Db, Postgres, Records, Sqlite};
pub use limits::RedisLimits;
pub use store::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A demo record could not be made.
    #[error("the demo data could not be made: {0}")]
    Seed(String),
}

/// The clock the server reads.
pub type Clock = dyn Fn() -> OffsetDateTime + Send + Sync;

/// Where a server keeps its records.
#[derive(Clone)]
#[non_exhaustive]
pub enum RecordsAt {
    /// An embedded SQLite file (created if missing): one server, no set-up.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (`postgres://user:password@host:port/db`): records
    /// shared by every server pointed at it.
    Postgres(String),
}

impl std::fmt::Debug for RecordsAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordsAt::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            // The URL may hold a password: never printed.
            RecordsAt::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// The prefix of every key the server writes to Redis.
pub const REDIS_PREFIX: &str = "pw-auth:";

/// How to run a server.
#[derive(Clone)]
pub struct Config {
    /// Where the records are (created and migrated if new).
    pub records: RecordsAt,
    /// Redis, by URL (`redis://host:port`), to keep the usage and failure budgets in,
    /// shared by every server pointed at it; `None` keeps them with the records.
    pub redis: Option<String>,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Load the demo company into a fresh database.
    pub seed_demo: bool,
    /// How long issued tokens live.
    pub expires_in: ExpiresIn,
    /// The clock (`OffsetDateTime::now_utc` by default; tests inject their own).
    pub clock: Arc<Clock>,
    /// The policy (the default policy unless replaced).
    pub policy: Policy,
}

impl Config {
    /// A server on the SQLite file `db`, listening on `listen`, with the defaults.
    pub fn new(db: PathBuf, listen: SocketAddr) -> Config {
        Config::on(RecordsAt::Sqlite(db), listen)
    }

    /// A server on `records`, listening on `listen`, with the defaults.
    pub fn on(records: RecordsAt, listen: SocketAddr) -> Config {
        Config {
            records,
            redis: None,
            listen,
            seed_demo: false,
            expires_in: ExpiresIn::DEFAULT,
            clock: Arc::new(OffsetDateTime::now_utc),
            policy: Policy::default_policy(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("records", &self.records)
            .field("redis", &self.redis.as_ref().map(|_| ".."))
            .field("listen", &self.listen)
            .field("seed_demo", &self.seed_demo)
            .field("expires_in", &self.expires_in)
            .field("policy", &self.policy.id())
            .finish_non_exhaustive()
    }
}

/// The demo company's people: username, password, role (and a grant for acme-eu).
pub const DEMO_USERS: [(&str, &str, Role); 3] = [
    ("ann@acme.example", "ann-demo-password", Role::Administrator),
    ("max@acme.example", "max-demo-password", Role::Manager),
    ("uma@acme.example", "uma-demo-password", Role::User),
];

/// A running server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its records (for tests and operators: revoking a user's tokens, reading the
    /// audit log).
    pub fn db(&self) -> &Db {
        self.store.records()
    }

    /// `http://<addr>` plus `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, finishes the requests in flight, and returns.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }
}

#[derive(Clone)]
struct App {
    auth: PwAuth<Store>,
    store: Store,
    /// A hash of a random password, verified against when the username is unknown,
    /// so that an unknown user and a wrong password cost the same argon2 work.
    dummy_hash: Arc<str>,
    expires_in: ExpiresIn,
    clock: Arc<Clock>,
}

/// Hashes a password with argon2id and its recommended parameters (a random salt
/// from the OS), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| StoreError(e.to_string()))?;
    Ok(hash.to_string())
}

fn random_bytes() -> Result<[u8; 32], StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError(e.to_string()))?;
    Ok(b)
}

async fn seed_demo(db: &Db) -> Result<(), ServerError> {
    let id = |s: &str| CompanyId::new(s).map_err(|e| ServerError::Seed(e.to_string()));
    db.add_company(id("acme")?, Tier::Professional, None)
        .await?;
    db.add_company(id("acme-eu")?, Tier::Professional, Some(id("acme")?))
        .await?;
    db.add_company(id("globex")?, Tier::Standard, None).await?;
    for (username, password, role) in DEMO_USERS {
        let name = username.split('@').next().unwrap_or(username);
        let user_id = UserId::new(name).map_err(|e| ServerError::Seed(e.to_string()))?;
        let hash = hash_password(password)?;
        db.add_user(
            UserRecord::active(user_id, id("acme")?, role),
            Some((username.to_owned(), hash)),
        )
        .await?;
    }
    let max = UserId::new("max").map_err(|e| ServerError::Seed(e.to_string()))?;
    db.grant(max, id("acme-eu")?).await?;
    Ok(())
}

/// Opens the records a config names (creating and migrating them if new).
pub async fn open_records(records: &RecordsAt) -> Result<Db, StoreError> {
    Ok(match records {
        RecordsAt::Sqlite(path) => Db::Sqlite(Sqlite::open(path)?),
        RecordsAt::Postgres(url) => Db::Postgres(Postgres::connect(url).await?),
    })
}

/// Starts a server: opens (and migrates) the database, seeds the demo company into a
/// fresh one if asked, binds, and serves until [`Running::stop`].
pub async fn start(config: Config) -> Result<Running, ServerError> {
    let db = open_records(&config.records).await?;
    let limits = match &config.redis {
        Some(url) => Some(RedisLimits::connect(url, REDIS_PREFIX).await?),
        None => None,
    };
    if config.seed_demo && db.is_empty().await? {
        seed_demo(&db).await?;
    }
    let store = Store::new(db.clone(), limits);
    let responder = Responder::new("patchworks").map_err(|e| ServerError::Seed(e.to_string()))?;
    let flow = ServerFlow::new(config.policy.clone(), responder);
    let auth = PwAuth::new(flow, store.clone())
        .with_clock(Arc::clone(&config.clock))
        .with_company_hook(Arc::new(|parts: &http::request::Parts, _: &_| {
            let named = parts.headers.get("x-company")?.to_str().ok()?;
            CompanyId::new(named.trim()).ok()
        }))
        // Failed authentications are throttled per peer address.
        .with_client_key(Arc::new(|parts: &http::request::Parts| {
            let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
            Some(format!("client:{}", peer.ip()))
        }));
    let unguessable = random_bytes()?;
    let dummy_hash = hash_password(&format!("{unguessable:?}"))?;
    let app = App {
        auth,
        store: store.clone(),
        dummy_hash: dummy_hash.into(),
        expires_in: config.expires_in,
        clock: Arc::clone(&config.clock),
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = router(app);
    let task = tokio::spawn(async move {
        // The peer's address keys the throttle on failed logins.
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    Ok(Running {
        addr,
        store,
        stop: Some(stop),
        task,
    })
}

fn router(app: App) -> Router {
    let a = &app.auth;
    Router::new()
        .route("/fabric/api/login", post(login))
        .route(
            "/fabric/api/logout",
            post(logout).route_layer(a.require("company.view")),
        )
        .route(
            "/fabric/api/api-keys",
            get(list_keys).route_layer(a.require("api-keys.list")),
        )
        .route(
            "/fabric/api/api-keys",
            post(create_key).route_layer(a.require("api-keys.create")),
        )
        .route(
            "/fabric/api/api-keys/{id}/revoke",
            post(revoke_key).route_layer(a.require("api-keys.revoke")),
        )
        .route(
            "/fabric/api/api-keys/{id}",
            delete(delete_key).route_layer(a.require("api-keys.delete")),
        )
        .route(
            "/fabric/api/flows",
            get(list_flows).route_layer(a.require("flows.view")),
        )
        .route(
            "/fabric/api/flows/{id}/deploy",
            post(done).route_layer(a.require("flows.deploy")),
        )
        .route(
            "/fabric/api/blueprints/{id}/publish",
            post(done).route_layer(a.require("blueprints.publish")),
        )
        .route(
            "/fabric/api/scripts",
            post(created).route_layer(a.require("scripts.create")),
        )
        // Bodies are read by the handlers with their own caps (login 64 KiB, the
        // platform's 8 MB elsewhere), answered with the library's 413.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Reads a body of at most `cap` bytes: `Err` is the 413 naming the cap.
async fn read_body(app: &App, body: Body, cap: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, cap.saturating_add(1))
        .await
        .ok()
        .filter(|b| b.len() <= cap)
        .ok_or_else(|| outcome_response(&app.auth.flow().responder().payload_too_large(cap)))
}

/// The throttle keys of a login: the username's digest (the username itself is
/// never stored) and the client's address.
fn login_keys(username: &str, peer: SocketAddr) -> Vec<String> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(username.as_bytes());
    let mut user = String::from("user:");
    for b in digest {
        user.push_str(&format!("{b:02x}"));
    }
    vec![user, format!("client:{}", peer.ip())]
}

async fn login(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Body,
) -> Response {
    let now = (app.clock)();
    let flow = app.auth.flow();
    let body = match read_body(&app, body, MAX_LOGIN_BODY_LEN).await {
        Ok(b) => b,
        Err(too_large) => {
            let audit = AuditRecord::login(flow.policy(), LoginResult::MalformedBody, None, now);
            return match app.store.records().audit(&audit).await {
                Ok(()) => too_large,
                Err(e) => unavailable(e),
            };
        }
    };
    let request = match flow.login_request(&body, now) {
        Ok(r) => r,
        Err(refused) => {
            return match app.store.records().audit(&refused.audit).await {
                Ok(()) => outcome_response(&refused.outcome),
                Err(e) => unavailable(e),
            };
        }
    };
    // Too many failures for this username or from this client: refused before the
    // password is hashed, so a storm of guesses costs the server nothing.
    let keys = login_keys(request.username(), peer);
    let states = match app.store.failure_states(keys.clone()).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let (user_state, client_state) = match states.as_slice() {
        [u, c] => (*u, *c),
        _ => return unavailable(StoreError("failure budgets missing".into())),
    };
    if let Err(refused) = flow.check_login_throttle(&user_state, &client_state, now) {
        return match app.store.records().audit(&refused.audit).await {
            Ok(()) => outcome_response(&refused.outcome),
            Err(e) => unavailable(e),
        };
    }
    let found = match app
        .store
        .records()
        .login_user(request.username().to_owned())
        .await
    {
        Ok(f) => f,
        Err(e) => return unavailable(e),
    };
    let password: Password = request.password().clone();
    let hash = found
        .as_ref()
        .map_or_else(|| app.dummy_hash.to_string(), |(_, h)| h.clone());
    let verified = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false);
    let user = found.map(|(u, _)| u);
    let random = match random_bytes() {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let served = match flow.login(user.as_ref(), verified, &random, app.expires_in, now) {
        Ok(s) => s,
        Err(e) => return unavailable(StoreError(e.to_string())),
    };
    if let Some(record) = served.record()
        && let Err(e) = app.store.records().add_token(record.clone()).await
    {
        return unavailable(e);
    }
    if served.result() != LoginResult::TokenIssued
        && let Err(e) = app
            .store
            .charge_failures(keys, flow.failure_charge(now))
            .await
    {
        return unavailable(e);
    }
    if let Err(e) = app.store.records().audit(served.audit()).await {
        return unavailable(e);
    }
    match (served.response_body(), served.refusal()) {
        (Some(body), _) => json_response(StatusCode::OK, body.to_string()),
        (None, Some(refusal)) => outcome_response(refusal),
        (None, None) => unavailable(StoreError("a login with no answer".into())),
    }
}

async fn logout(
    State(app): State<App>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
) -> Response {
    if !matches!(who.method(), AuthMethod::Bearer { .. }) {
        return json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"message":"An api key is revoked through the api-keys endpoints."}"#.to_owned(),
        );
    }
    let Ok(Some(pw_auth_core::Credential::Bearer(token))) =
        pw_auth_http::credential_from_headers(&headers)
    else {
        return unavailable(StoreError("a bearer principal without its token".into()));
    };
    match app
        .store
        .records()
        .revoke_token(token.digest(), (app.clock)())
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => unavailable(e),
    }
}

async fn list_keys(State(app): State<App>, ActingIn(company): ActingIn) -> Response {
    match app.store.records().keys_of(company).await {
        Ok(keys) => {
            let list: Vec<serde_json::Value> = keys.iter().map(key_json).collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({ "data": list }).to_string(),
            )
        }
        Err(e) => unavailable(e),
    }
}

async fn create_key(State(app): State<App>, ActingIn(company): ActingIn, body: Body) -> Response {
    let body = match read_body(&app, body, PLATFORM_MAX_PAYLOAD).await {
        Ok(b) => b,
        Err(too_large) => return too_large,
    };
    let label = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("label").and_then(|l| l.as_str()).map(str::to_owned))
        .ok_or_else(|| "the label field is required".to_owned())
        .and_then(|l| KeyLabel::new(&l).map_err(|e| e.to_string()));
    let label = match label {
        Ok(l) => l,
        Err(message) => {
            let errors = std::collections::BTreeMap::from([("label".to_owned(), vec![message])]);
            let o = app
                .auth
                .flow()
                .responder()
                .validation("The given data was invalid.", &errors);
            return outcome_response(&o);
        }
    };
    let random = match random_bytes() {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let minted = match mint_api_key(&company, label, &random, (app.clock)()) {
        Ok(m) => m,
        Err(e) => return unavailable(StoreError(e.to_string())),
    };
    if let Err(e) = app
        .store
        .records()
        .add_key(minted.record.clone(), minted.user.clone())
        .await
    {
        return unavailable(e);
    }
    json_response(StatusCode::CREATED, created_key_body(&minted).to_string())
}

async fn revoke_key(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = ApiKeyId::new(&id) else {
        return not_found();
    };
    match app
        .store
        .records()
        .revoke_key(company, id, (app.clock)())
        .await
    {
        Ok(Some(true)) => json_response(StatusCode::OK, r#"{"message":"Revoked."}"#.to_owned()),
        Ok(Some(false)) => json_response(
            StatusCode::CONFLICT,
            r#"{"message":"The api key was already revoked."}"#.to_owned(),
        ),
        Ok(None) => not_found(),
        Err(e) => unavailable(e),
    }
}

async fn delete_key(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = ApiKeyId::new(&id) else {
        return not_found();
    };
    match app.store.records().delete_key(company, id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(),
        Err(e) => unavailable(e),
    }
}

fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        r#"{"message":"Not found."}"#.to_owned(),
    )
}

async fn list_flows(ActingIn(company): ActingIn) -> Response {
    let body = serde_json::json!({
        "company": company,
        "data": [{"id": "orders-to-erp", "enabled": true}, {"id": "stock-sync", "enabled": false}],
    });
    json_response(StatusCode::OK, body.to_string())
}

async fn done(Path(id): Path<String>) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::json!({"message": "Done.", "id": id}).to_string(),
    )
}

async fn created() -> Response {
    json_response(StatusCode::CREATED, r#"{"message":"Created."}"#.to_owned())
}
