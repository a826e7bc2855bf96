//! How a server is run: where its records are, where it listens, and every limit
//! that keeps it standing under hostile load, each with a safe default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pw_auth_axum::StoreError;
use pw_auth_core::{ExpiresIn, Policy, Quota};
/// The clock the server reads: the one clock type of `pw_auth_http`.
pub use pw_auth_http::Clock;
use pw_auth_http::{DEFAULT_FAILURE_QUOTA, DEFAULT_USERNAME_CEILING, TrustedProxies};
use time::OffsetDateTime;

use crate::db::AuditSync;
use crate::hashing::HashingLimits;

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
    /// The configuration is unsafe or inconsistent.
    #[error("the configuration is refused: {0}")]
    Config(String),
    /// A route names an action the policy does not define (a policy that drops one
    /// of the server's actions): it would deny every request to that route.
    #[error("a route cannot be guarded: {0}")]
    Route(#[from] pw_auth_axum::UnknownAction),
    /// A demo record could not be made.
    #[error("the demo data could not be made")]
    Seed(#[source] pw_auth_core::IdError),
    /// The challenges the server answers with could not be built.
    #[error("the responder could not be built")]
    Responder(#[source] pw_auth_http::ChallengeBuildError),
    /// The password hashing threads could not be started.
    #[error("the password hashing pool could not start: {0}")]
    Hashing(std::io::Error),
    /// The policy file could not be loaded.
    #[error(transparent)]
    PolicyFile(Box<crate::reload::PolicyFileError>),
    /// The `SIGHUP` handler that reloads the policy could not be installed.
    #[error("cannot listen for SIGHUP: {0}")]
    Signal(std::io::Error),
}

impl From<crate::reload::PolicyFileError> for ServerError {
    fn from(e: crate::reload::PolicyFileError) -> ServerError {
        ServerError::PolicyFile(Box::new(e))
    }
}

/// Where the server's random bytes come from: 32 at a time, for each token's and each
/// key's secret and for the salt of the hash that unknown usernames are verified
/// against.
pub type Random = dyn Fn() -> std::io::Result<[u8; 32]> + Send + Sync;

/// 32 bytes from the operating system's generator (`getrandom`): the server's
/// [`Random`] unless replaced.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn os_random() -> std::io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(std::io::Error::other)?;
    Ok(b)
}

/// 32 bytes from `random`, its failure as the server's own (a 503 in a handler).
pub(crate) fn random_bytes(random: &Random) -> Result<[u8; 32], StoreError> {
    random().map_err(|e| {
        StoreError::new(pw_auth_axum::StoreErrorKind::Internal, "the random source").caused_by(e)
    })
}

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

/// The connection and time limits: how long a client may take, how many connections
/// it may hold, and how long a stopping server waits for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, timed from the moment
    /// the connection is idle: so it is also the keep-alive idle timeout. 10 s.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body. 10 s.
    pub body_read_timeout: Duration,
    /// Connections open at once, in all; at the cap, new ones wait in the listen
    /// backlog. 1,024.
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 client by its /64);
    /// more are closed as they arrive. Trusted proxies are exempt. 64.
    pub max_connections_per_client: usize,
    /// How long a stopping server lets requests in flight finish before it closes
    /// their connections. 10 s.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_client: 64,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How long records that are no longer needed are kept, and how often they are
/// pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Audit records older than this are deleted. 90 days.
    pub audit: Duration,
    /// Token records this long past their expiry or revocation are deleted (a
    /// request with one is then told "unknown" rather than "expired"). 7 days.
    pub tokens: Duration,
    /// Failure budgets untouched for this long (whole again long before) are
    /// deleted. 1 day.
    pub failures: Duration,
    /// How often the server prunes. 1 hour.
    pub every: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Retention {
            audit: Duration::from_secs(90 * DAY),
            tokens: Duration::from_secs(7 * DAY),
            failures: Duration::from_secs(DAY),
            every: Duration::from_secs(60 * 60),
        }
    }
}

/// The largest body accepted by key creation (`{"label": …}`): 4 KiB.
pub const MAX_KEY_BODY_LEN: usize = 4 * 1024;

/// How to run a server.
#[derive(Clone)]
pub struct Config {
    /// Where the records are (created and migrated if new).
    pub records: RecordsAt,
    /// Redis, by URL (`redis://host:port`), to keep the usage and failure budgets in,
    /// shared by every server pointed at it; `None` keeps them with the records.
    pub redis: Option<String>,
    /// CA certificates (a PEM file) that PostgreSQL's and Redis's certificates are
    /// verified against, instead of the system's roots. TLS itself is asked for by the
    /// URLs: `sslmode=require` for PostgreSQL (verified as libpq's `verify-full`),
    /// `rediss://` for Redis.
    pub tls_ca: Option<PathBuf>,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where `/metrics` listens, apart from the API (e.g. an address only the
    /// monitoring network reaches); `None` serves it on [`Config::listen`] beside
    /// the API.
    pub metrics_listen: Option<SocketAddr>,
    /// Load the demo company into a fresh database. Refused unless `listen` is a
    /// loopback address: the demo's passwords are public.
    pub seed_demo: bool,
    /// How long issued tokens live.
    pub expires_in: ExpiresIn,
    /// The clock (`OffsetDateTime::now_utc` by default; tests inject their own).
    pub clock: Arc<Clock>,
    /// The random bytes ([`os_random`] by default). Replace it only where secrets must
    /// be known in advance, as a test replaces the clock: a predictable source makes
    /// every token and key guessable.
    pub random: Arc<Random>,
    /// The policy (the default policy unless replaced), when there is no
    /// [`Config::policy_file`].
    pub policy: Policy,
    /// A policy document (JSON) to decide with instead of [`Config::policy`]: read and
    /// compiled at start (an error refuses the start), and again on every `SIGHUP`
    /// and [`Running::reload_policy`](crate::Running::reload_policy), where an error
    /// keeps the running policy.
    pub policy_file: Option<PathBuf>,
    /// The proxies whose `Forwarded` / `X-Forwarded-For` fields are believed; none by
    /// default (every client is its peer address).
    pub trusted_proxies: TrustedProxies,
    /// The forward-auth endpoint's routes (`/authz`, for gateways): which action a
    /// request asks for by its method and path; none by default (every request to
    /// `/authz` is denied). Each action is checked against the policy at start.
    pub authz_routes: Vec<crate::gateway::AuthzRoute>,
    /// Send the legacy `X-RateLimit-Limit`, `-Remaining` (and on a 429 `-Reset`)
    /// fields beside the draft's `RateLimit` fields; off by default.
    pub legacy_limit_headers: bool,
    /// Failed attempts tolerated per client, and per username from one client.
    pub failure_quota: Quota,
    /// Failed logins tolerated per username across every client before clients that
    /// failed for it are refused.
    pub username_ceiling: Quota,
    /// Password hashing's memory budget and queue.
    pub hashing: HashingLimits,
    /// Connection and time limits.
    pub connections: ConnectionLimits,
    /// What is pruned, and when.
    pub retention: Retention,
    /// How a commit of the audit log (with the budgets charged since the last one)
    /// reaches the disk on SQLite: [`AuditSync::Normal`] by default (a commit survives
    /// a crash of the process), [`AuditSync::Full`] to survive a power failure too, at
    /// the cost of one sync per commit. PostgreSQL syncs every commit.
    pub audit_sync: AuditSync,
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
            tls_ca: None,
            listen,
            metrics_listen: None,
            seed_demo: false,
            expires_in: ExpiresIn::DEFAULT,
            clock: Arc::new(OffsetDateTime::now_utc),
            random: Arc::new(os_random),
            policy: Policy::default_policy(),
            policy_file: None,
            trusted_proxies: TrustedProxies::none(),
            authz_routes: Vec::new(),
            legacy_limit_headers: false,
            audit_sync: AuditSync::Normal,
            failure_quota: DEFAULT_FAILURE_QUOTA,
            username_ceiling: DEFAULT_USERNAME_CEILING,
            hashing: HashingLimits::default(),
            connections: ConnectionLimits::default(),
            retention: Retention::default(),
        }
    }

    /// Refuses what would be unsafe to run.
    pub(crate) fn check(&self) -> Result<(), ServerError> {
        if self.seed_demo && !self.listen.ip().is_loopback() {
            return Err(ServerError::Config(format!(
                "the demo data (public passwords) is only served on a loopback address, not {}",
                self.listen.ip()
            )));
        }
        let c = &self.connections;
        if c.max_connections == 0 || c.max_connections_per_client == 0 {
            return Err(ServerError::Config(
                "connection caps must be at least one".to_owned(),
            ));
        }
        if self.hashing.queue == 0 {
            return Err(ServerError::Config(
                "the password hashing queue must hold at least one".to_owned(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("records", &self.records)
            .field("redis", &self.redis.as_ref().map(|_| ".."))
            .field("tls_ca", &self.tls_ca)
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("seed_demo", &self.seed_demo)
            .field("expires_in", &self.expires_in)
            .field("policy", &self.policy.id())
            .field("policy_file", &self.policy_file)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("hashing", &self.hashing)
            .field("connections", &self.connections)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}
