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
//! | `POST /oauth/token` | — | the standard OAuth 2.0 token endpoint (RFC 6749 §4.4): `grant_type=client_credentials`, form-encoded, the client being the username and password (HTTP Basic or in the body) → `{"access_token", "token_type": "Bearer", "expires_in"}`; §5.2 errors |
//! | `GET /.well-known/oauth-authorization-server` | — | RFC 8414 metadata |
//! | `GET /fabric/api/api-keys` | `api-keys.list` | the company's keys (never a key or digest) |
//! | `POST /fabric/api/api-keys` | `api-keys.create` | `{"label", "expires_in_days"?, "scope"?}` → 201, the new key shown once |
//! | `POST /fabric/api/api-keys/{id}/rotate` | `api-keys.create` | `{"grace_secs"?}` → 201, the successor shown once; the old key retires after the grace period (a day by default) |
//! | `POST /fabric/api/api-keys/{id}/revoke` | `api-keys.revoke` | |
//! | `DELETE /fabric/api/api-keys/{id}` | `api-keys.delete` | 204 |
//! | `GET /fabric/api/audit-logs` | `audit-logs.view` | the company's audit log, newest first, paged |
//! | `GET /fabric/api/users`, `…/users/search?q=` | `users.view`, `users.search` | the company's people |
//! | `POST /fabric/api/users`, `…/users/managers` | `users.create-user`, `users.create-manager` | 201 |
//! | `POST /fabric/api/users/{id}/role`, `…/disable`, `…/enable` | `users.update` | by the platform's role rules |
//! | `GET`, `POST`, … `/authz` (and `/authz/…`) | by the route table | the forward-auth decision for gateways: 200 with `X-Pw-*` identity headers, or the refusal (`docs/gateways.md`) |
//! | `GET /fabric/api/flows` | `flows.view` | |
//! | `POST /fabric/api/flows/{id}/deploy` | `flows.deploy` | |
//! | `POST /fabric/api/blueprints/{id}/publish` | `blueprints.publish` | administrators only |
//! | `POST /fabric/api/scripts` | `scripts.create` | gated by tier |
//!
//! A request acts in its caller's own company, or in the linked company named by an
//! `X-Company` header (one that names no company, or is sent twice, is a 400). Any
//! store failure answers 503, never an allow.
//!
//! Safe to expose: failed logins are reserved against their budgets before any
//! password is verified, so no burst can verify more than the quota; passwords are
//! verified on a pool of their own bounded by a memory budget ([`HashingLimits`]);
//! every connection has a header and body timeout and is counted against caps in all
//! and per client ([`ConnectionLimits`]); clients behind proxies are told apart only
//! through proxies it trusts ([`Config::trusted_proxies`]); every answer carries
//! `Cache-Control: no-store`; the SQLite file is private to its owner; old audit,
//! token and failure records are pruned ([`Retention`]). `docs/security.md`
//! ("Hostile load") says what each limit is and how it is tested.
//!
//! The [`manual`] holds how the server is run and scaled, its security review, the
//! audit log's form, and its measured speed (the same text as `docs/` in the
//! repository).

#![forbid(unsafe_code)]

/// The server's documents, as rustdoc pages.
pub mod manual {
    /// Several servers on one state: PostgreSQL for the records, Redis for the
    /// budgets, and what each guarantee rests on.
    ///
    #[doc = include_str!("../../../docs/scaling.md")]
    pub mod scaling {}

    /// The security review: each threat, what answers it, and the test that shows it.
    ///
    #[doc = include_str!("../../../docs/security.md")]
    pub mod security {}

    /// The audit log: one record per decision, its JSON form and its schema.
    ///
    #[doc = include_str!("../../../docs/audit.md")]
    pub mod audit {}

    /// Speed: what is measured, how, and the figures.
    ///
    #[doc = include_str!("../../../docs/performance.md")]
    pub mod performance {}
}

mod config;
pub mod db;
pub mod gateway;
mod hashing;
mod last_use;
pub mod limits;
mod listen;
mod observe;
mod reload;
mod routes;
pub mod settings;
pub mod store;
mod tls;
mod wipe;

use std::net::SocketAddr;
use std::sync::Arc;

use argon2::{Argon2, PasswordHash, PasswordHasher};
use pw_auth_axum::{PwAuth, StoreError, StoreErrorKind};
use pw_auth_core::{CompanyId, Role, Tier, UserId, UserRecord};
use pw_auth_http::{Outcome, Responder};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    Clock, Config, ConnectionLimits, MAX_KEY_BODY_LEN, Random, RecordsAt, Retention, ServerError,
    os_random,
};
pub use db::{AuditPage, AuditQuery, AuditSync, Db, PruneBefore, Pruned};
pub use hashing::{BYTES_PER_HASH, HashingLimits, PoolStats};
pub use limits::RedisLimits;
pub use observe::REQUEST_ID;
pub use reload::PolicyFileError;
pub use store::Store;

/// The prefix of every key the server writes to Redis.
pub const REDIS_PREFIX: &str = "pw-auth:";

/// The demo company's people: username, password, role (and a grant for acme-eu).
pub const DEMO_USERS: [(&str, &str, Role); 3] = [
    ("ann@acme.example", "ann-demo-password", Role::Administrator),
    ("max@acme.example", "max-demo-password", Role::Manager),
    ("uma@acme.example", "uma-demo-password", Role::User),
];

/// A running server.
pub struct Running {
    addr: SocketAddr,
    store: Store,
    hashing: hashing::PasswordPool,
    clients: Arc<listen::PerClient>,
    seeded: bool,
    clock: Arc<Clock>,
    retention: Retention,
    pruner: JoinHandle<()>,
    /// Writes keys' last use; ends once the requests' side is gone and its queue
    /// is written.
    uses_writer: JoinHandle<()>,
    metrics_apart: Option<(SocketAddr, JoinHandle<()>)>,
    reloader: reload::Reloader,
    hangup: Option<JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("store", &self.store)
            .field("seeded", &self.seeded)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address `/metrics` is served on when it listens apart
    /// ([`Config::metrics_listen`]).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_apart.as_ref().map(|(addr, _)| *addr)
    }

    /// Its records (for tests and operators: revoking a user's tokens, reading the
    /// audit log).
    pub fn db(&self) -> &Db {
        self.store.records()
    }

    /// What the password hashing pool has done so far.
    pub fn password_stats(&self) -> PoolStats {
        self.hashing.stats()
    }

    /// How many client addresses (IPv6 by /64) have a connection open now.
    pub fn open_clients(&self) -> usize {
        self.clients.clients()
    }

    /// The id of the policy deciding now (`name@version+hash`, as audit records
    /// name it).
    pub fn policy_id(&self) -> String {
        self.reloader.auth.flow().policy().id().to_owned()
    }

    /// Reads [`Config::policy_file`] again and, if it compiles and defines every
    /// action the routes are guarded by, decides every request from now on with it
    /// (as `SIGHUP` does). Returns the new policy's id; on an error the running
    /// policy is kept. Either way the outcome is logged.
    pub async fn reload_policy(&self) -> Result<String, PolicyFileError> {
        self.reloader.reload().await
    }

    /// Whether this start loaded the demo company (a fresh database and
    /// [`Config::seed_demo`]).
    pub fn seeded_demo(&self) -> bool {
        self.seeded
    }

    /// Prunes now what [`Config::retention`] says is old enough (the server also does
    /// it every [`Retention::every`]).
    pub async fn prune_now(&self) -> Result<Pruned, StoreError> {
        prune(self.store.records(), (self.clock)(), &self.retention).await
    }

    /// `http://<addr>` plus `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, lets the requests in flight finish for at most the shutdown
    /// grace ([`ConnectionLimits::shutdown_grace`]), closes what is left, and returns.
    ///
    /// When it returns, every handle the server held on its records is dropped, so a
    /// server started next on the same SQLite file finds it free.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.pruner.abort();
        // Cancelled, not failed: the pruner's handle on the records is gone once it ends.
        let _cancelled = (&mut self.pruner).await;
        if let Some(hangup) = self.hangup.take() {
            hangup.abort();
            let _cancelled = hangup.await;
        }
        if let Some((_, metrics)) = self.metrics_apart.take() {
            metrics.abort();
            let _cancelled = metrics.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = self.task.await.map_err(std::io::Error::other)?;
        // The last uses queued are written before the server is said to be stopped
        // (bounded: a store that does not answer is given a few seconds).
        let writer = std::time::Duration::from_secs(5);
        if tokio::time::timeout(writer, &mut self.uses_writer)
            .await
            .is_err()
        {
            self.uses_writer.abort();
        }
        served
    }
}

/// An error with its causes, for a person: `error: cause: cause of the cause`. A
/// store failure's own message says what failed; its causes (the backend's error)
/// say why.
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// Hashes a password with argon2id and its recommended parameters (a random salt
/// from the OS), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| {
            StoreError::new(StoreErrorKind::Internal, format!("hashing a password: {e}"))
        })?;
    Ok(hash.to_string())
}

async fn seed_demo(db: &Db) -> Result<(), ServerError> {
    let id = |s: &str| CompanyId::new(s).map_err(ServerError::Seed);
    db.add_company(id("acme")?, Tier::Professional, None)
        .await?;
    db.add_company(id("acme-eu")?, Tier::Professional, Some(id("acme")?))
        .await?;
    db.add_company(id("globex")?, Tier::Standard, None).await?;
    for (username, password, role) in DEMO_USERS {
        let name = username.split('@').next().unwrap_or(username);
        let user_id = UserId::new(name).map_err(ServerError::Seed)?;
        let hash = hash_password(password)?;
        db.add_user(
            UserRecord::active(user_id, id("acme")?, role),
            Some((username.to_owned(), hash)),
        )
        .await?;
    }
    let max = UserId::new("max").map_err(ServerError::Seed)?;
    db.grant(max, id("acme-eu")?, None).await?;
    Ok(())
}

/// Opens the records a config names (creating and migrating them if new); a
/// PostgreSQL certificate is verified against `ca` (a PEM file) when given.
pub async fn open_records(
    records: &RecordsAt,
    ca: Option<&std::path::Path>,
    sync: AuditSync,
) -> Result<Db, StoreError> {
    Ok(match records {
        RecordsAt::Sqlite(path) => Db::open_sqlite(path, sync)?,
        RecordsAt::Postgres(url) => Db::connect_postgres(url, ca).await?,
    })
}

/// Prunes what is older than `retention` allows at `now`.
async fn prune(
    db: &Db,
    now: time::OffsetDateTime,
    retention: &Retention,
) -> Result<Pruned, StoreError> {
    let back = |d: std::time::Duration| {
        time::Duration::try_from(d)
            .ok()
            .and_then(|d| now.checked_sub(d))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    };
    db.prune(PruneBefore {
        audit: back(retention.audit),
        tokens: back(retention.tokens),
        failures: back(retention.failures),
    })
    .await
}

/// The company a request names in `X-Company`: `Ok(None)` without the header, a 400
/// for one that is not a company id or is sent more than once.
fn named_company(
    responder: &Responder,
    parts: &http::request::Parts,
) -> Result<Option<CompanyId>, Outcome> {
    let mut values = parts.headers.get_all("x-company").iter();
    let (value, again) = (values.next(), values.next());
    match (value, again) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(responder.bad_request("Send X-Company at most once.")),
        (Some(v), None) => v
            .to_str()
            .ok()
            .and_then(|v| CompanyId::new(v.trim()).ok())
            .map(Some)
            .ok_or_else(|| responder.bad_request("X-Company does not name a company.")),
    }
}

/// Starts a server: checks the config, opens (and migrates) the database, seeds the
/// demo company into a fresh one if asked, binds, and serves until [`Running::stop`].
pub async fn start(config: Config) -> Result<Running, ServerError> {
    config.check()?;
    let ca = config.tls_ca.as_deref();
    let db = open_records(&config.records, ca, config.audit_sync).await?;
    let limits = match &config.redis {
        Some(url) => Some(RedisLimits::connect_with_ca(url, REDIS_PREFIX, ca).await?),
        None => None,
    };
    // Records shared with other servers are kept while Redis's generation says they
    // are current (a SQLite file's server keeps them anyway).
    let db = match &limits {
        Some(redis) => db.with_records_generation(redis, Arc::clone(&config.clock)),
        None => db,
    };
    let seeded = config.seed_demo && db.is_empty().await?;
    if seeded {
        seed_demo(&db).await?;
    }
    let hashing = hashing::PasswordPool::new(config.hashing).map_err(ServerError::Hashing)?;
    let metrics = Arc::new(observe::Metrics::new(hashing.clone()));
    let store = Store::new(db.clone(), limits).timed(Arc::clone(&metrics));
    let responder = Responder::new("patchworks").map_err(ServerError::Responder)?;
    let policy = match &config.policy_file {
        Some(path) => reload::read_policy(path).await?,
        None => config.policy.clone(),
    };
    let recipe = reload::FlowRecipe {
        responder: responder.clone(),
        failure_quota: config.failure_quota,
        username_ceiling: config.username_ceiling,
        legacy_limit_headers: config.legacy_limit_headers,
    };
    let flow = recipe.flow(policy);
    let trusted = config.trusted_proxies.clone();
    let decision_ids = observe::decision_ids(&config::random_bytes(&*config.random)?);
    let auth = PwAuth::builder(flow, store.clone())
        .clock(Arc::clone(&config.clock))
        .decision_ids(Arc::clone(&decision_ids))
        .company_hook(Arc::new(move |parts: &http::request::Parts, _: &_| {
            named_company(&responder, parts)
        }))
        // Failed authentications are throttled per client (its address, or behind a
        // trusted proxy the address it forwarded for; IPv6 by /64).
        .client({
            let trusted = trusted.clone();
            Arc::new(move |parts: &http::request::Parts| routes::client_of_parts(&trusted, parts))
        })
        .build();
    let unguessable = config::random_bytes(&*config.random)?;
    let dummy_hash = hash_password(&format!("{unguessable:?}"))?;
    let request_ids = Arc::new(observe::RequestIds::new(&config::random_bytes(
        &*config.random,
    )?));
    let reloader = reload::Reloader {
        path: config.policy_file.clone(),
        recipe,
        auth: auth.clone(),
    };
    let app = routes::App::new(routes::AppState {
        auth,
        decision_ids,
        store: store.clone(),
        dummy_hash: dummy_hash.into(),
        expires_in: config.expires_in,
        clock: Arc::clone(&config.clock),
        random: Arc::clone(&config.random),
        hashing: hashing.clone(),
        trusted: trusted.clone(),
        body_timeout: config.connections.body_read_timeout,
        authz: config.authz_routes.clone().into(),
    });
    // Every route's action checked against the policy before anything listens.
    let metrics_on_main = config
        .metrics_listen
        .is_none()
        .then(|| Arc::clone(&metrics));
    let router = routes::router(app, metrics_on_main)?;
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
    let metrics_listener = match config.metrics_listen {
        Some(at) => {
            let listener = TcpListener::bind(at)
                .await
                .map_err(|source| ServerError::Bind { addr: at, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| ServerError::Bind { addr: at, source })?;
            Some((listener, bound))
        }
        None => None,
    };
    // The last step that can fail, before anything is spawned.
    let hangup = match &config.policy_file {
        Some(_) => Some(reloader.clone().on_hangup().map_err(ServerError::Signal)?),
        None => None,
    };
    let metrics_apart = metrics_listener.map(|(listener, bound)| {
        let app = observe::metrics_router(Arc::clone(&metrics));
        let task = tokio::spawn(async move {
            // A failed accept loop ends the metrics listener only; requests go on.
            let _ = axum::serve(listener, app).await;
        });
        (bound, task)
    });
    let pruner = {
        let (db, clock, retention) = (db.clone(), Arc::clone(&config.clock), config.retention);
        tokio::spawn(async move {
            let mut every =
                tokio::time::interval(retention.every.max(std::time::Duration::from_secs(1)));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // A failed prune is tried again at the next tick; requests go on.
                let _ = prune(&db, clock(), &retention).await;
            }
        })
    };
    let (uses, uses_writer) = {
        let metrics = Arc::clone(&metrics);
        last_use::KeyUses::start(Arc::clone(&config.clock), db.clone(), move |n| {
            metrics.key_uses_written(n);
        })
    };
    let observer = observe::Observer {
        metrics: Arc::clone(&metrics),
        ids: request_ids,
        uses,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let clients = Arc::new(listen::PerClient::default());
    let task = tokio::spawn(listen::serve(
        listener,
        router,
        config.connections,
        trusted,
        Arc::clone(&clients),
        observer,
        stopped,
    ));
    Ok(Running {
        addr,
        store,
        hashing,
        clients,
        seeded,
        clock: Arc::clone(&config.clock),
        retention: config.retention,
        pruner,
        uses_writer,
        metrics_apart,
        reloader,
        hangup,
        stop: Some(stop),
        task,
    })
}
