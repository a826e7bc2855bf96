//! Every setting of `serve`, from the command line, the environment and a TOML file
//! (`--config`): a flag or an environment variable wins over the file, the file over
//! the default. The file's keys are the flags' names:
//!
//! ```toml
//! listen = "0.0.0.0:8080"
//! metrics-listen = "127.0.0.1:9464"
//! db = "/var/lib/pw-auth/records.sqlite"
//! policy = "/etc/pw-auth/policy.json"
//! trusted-proxy = ["10.0.0.0/8"]
//! max-connections = 4096
//! log-format = "json"
//! ```
//!
//! Secrets stay out of the file: a PostgreSQL or Redis URL holding a password is
//! refused there, and belongs in `PW_AUTH_POSTGRES_URL` / `PW_AUTH_REDIS_URL`. Every
//! error names the file, the line and the column.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pw_auth_http::{Cidr, TrustedProxies};
use serde::Deserialize;

use crate::config::{Config, ConnectionLimits, RecordsAt};
use crate::db::AuditSync;
use crate::hashing::HashingLimits;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    #[default]
    Text,
    /// One JSON object a line, for a log pipeline.
    Json,
}

/// How the audit log's commits reach the disk (SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncSetting {
    /// A commit survives a crash of the process.
    Normal,
    /// A commit survives a power failure too (one sync per commit).
    Full,
}

/// Every setting of `serve`; `None` is "not given here". From the command line
/// (`clap`) and from a TOML file (`serde`, the same names).
#[derive(Clone, Default, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// The SQLite database file; created and migrated if missing [default:
    /// pw-auth.sqlite].
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Keep the records in PostgreSQL instead (`postgres://user:password@host/db`),
    /// shared with every server given the same URL. Best from the environment, so
    /// that a password is not shown in the process list; never with a password in
    /// the file.
    #[arg(long, env = "PW_AUTH_POSTGRES_URL", hide_env_values = true)]
    pub postgres: Option<String>,
    /// Keep the usage and failure budgets in Redis (`redis://host:port`), one budget
    /// per company across every server given the same URL.
    #[arg(long, env = "PW_AUTH_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,
    /// CA certificates (PEM) that PostgreSQL's and Redis's certificates are verified
    /// against, instead of the system's. TLS is asked for by the URLs:
    /// `sslmode=require` (verified like libpq's verify-full) and `rediss://`.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve `/metrics` on this address instead of beside the API (for example one
    /// only the monitoring network reaches).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// How log events are written to stderr: `text` for people, `json` (one object a
    /// line) for a log pipeline. Which events: `RUST_LOG` (default `info`).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Decide with the policy document (JSON) in this file instead of the default
    /// policy. Read again on SIGHUP: a file that fails to compile keeps the running
    /// policy, and its error (with line and column) is logged.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Write the server's process id to this file (0600) while it runs, for
    /// `pw-auth-server admin reload-policy --pid-file FILE`; removed at the stop.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Load the demo company into a fresh database (its passwords are public:
    /// refused unless listening on a loopback address).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub seed_demo: Option<bool>,
    /// A proxy (or block of them, `10.0.0.0/8`) whose `Forwarded` and
    /// `X-Forwarded-For` fields are believed; repeat for several. Without one, every
    /// client is its peer address.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    #[serde(default, deserialize_with = "cidrs")]
    pub trusted_proxy: Option<Vec<Cidr>>,
    /// A route of the forward-auth endpoint `/authz`: `"METHOD /path/{param}
    /// action"`, e.g. `"GET /api/flows/{id} flows.view"`; repeat for several. A
    /// request no route maps is denied.
    #[arg(long = "authz-route", value_name = "ROUTE")]
    #[serde(default)]
    pub authz_route: Option<Vec<crate::gateway::AuthzRoute>>,
    /// Send the legacy `X-RateLimit-Limit`, `-Remaining` (and on a 429 `-Reset`, a
    /// Unix time) fields beside the draft's `RateLimit` fields [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub legacy_limit_headers: Option<bool>,
    /// The memory all password verifications together may hold, in MiB (19 MiB
    /// each) [default: 128].
    #[arg(long)]
    pub hash_memory_mib: Option<usize>,
    /// How many password verifications may wait; more are refused (503) [default:
    /// 32].
    #[arg(long)]
    pub hash_queue: Option<usize>,
    /// Seconds a client may take to send a request's headers (also how long an idle
    /// kept-alive connection stays open) [default: 10].
    #[arg(long)]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a client may take to send a request's body [default: 10].
    #[arg(long)]
    pub body_timeout_secs: Option<u64>,
    /// Connections open at once, in all [default: 1024].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Connections open at once from one client address (IPv6 by /64) [default: 64].
    #[arg(long)]
    pub max_connections_per_client: Option<usize>,
    /// Seconds a stopping server lets requests in flight finish [default: 10].
    #[arg(long)]
    pub shutdown_grace_secs: Option<u64>,
    /// Days audit records are kept [default: 90].
    #[arg(long)]
    pub audit_retention_days: Option<u64>,
    /// How each commit of the audit log (with the budgets charged since the last
    /// one) reaches the disk on SQLite: `normal` survives a crash of the process,
    /// `full` a power failure too, at the cost of one sync per commit [default:
    /// normal].
    #[arg(long, value_enum)]
    pub audit_sync: Option<SyncSetting>,
}

/// Everything but the URLs of PostgreSQL and Redis, which may hold a password.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |url: &Option<String>| url.as_ref().map(|_| "..");
        f.debug_struct("Settings")
            .field("db", &self.db)
            .field("postgres", &hidden(&self.postgres))
            .field("redis", &hidden(&self.redis))
            .field("tls_ca", &self.tls_ca)
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("policy", &self.policy)
            .field("pid_file", &self.pid_file)
            .field("seed_demo", &self.seed_demo)
            .field("trusted_proxy", &self.trusted_proxy)
            .field("hash_memory_mib", &self.hash_memory_mib)
            .field("hash_queue", &self.hash_queue)
            .field("header_timeout_secs", &self.header_timeout_secs)
            .field("body_timeout_secs", &self.body_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_client",
                &self.max_connections_per_client,
            )
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("audit_sync", &self.audit_sync)
            .finish()
    }
}

fn cidrs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<Cidr>>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| t.parse::<Cidr>().map_err(serde::de::Error::custom))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A configuration file that cannot be used: the file, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct SettingsError {
    /// The file.
    pub file: PathBuf,
    /// The line and column (from 1), when the error has a place.
    pub at: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

/// The line and column (from 1) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        .saturating_add(1);
    (line, column)
}

/// Where key `key` is set in `text` (a line `key = …`), for an error about its value.
fn place_of(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(n, line)| {
        let rest = line.trim_start().strip_prefix(key)?;
        rest.trim_start().starts_with('=').then(|| {
            let indent = line.len().saturating_sub(line.trim_start().len());
            (n.saturating_add(1), indent.saturating_add(1))
        })
    })
}

/// Whether a URL carries a password (`scheme://user:password@host`).
/// Whether a URL (or a libpq key-value string) carries a password:
/// `scheme://user:password@host`, or a `password=` parameter.
fn has_password(url: &str) -> bool {
    if url.contains("password=") {
        return true;
    }
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

impl Settings {
    /// The settings in the TOML file `file`, whose text is `text`: every key one of
    /// the flags', every value of its type, no password in a URL.
    ///
    /// # Errors
    /// The first thing wrong, with its line and column.
    pub fn from_toml(file: &Path, text: &str) -> Result<Settings, SettingsError> {
        let error = |at, message: String| SettingsError {
            file: file.to_owned(),
            at,
            message,
        };
        let settings: Settings = toml::from_str(text).map_err(|e| {
            error(
                e.span().map(|s| line_col(text, s.start)),
                e.message().trim_end_matches('\n').to_owned(),
            )
        })?;
        for (key, url, variable) in [
            ("postgres", &settings.postgres, "PW_AUTH_POSTGRES_URL"),
            ("redis", &settings.redis, "PW_AUTH_REDIS_URL"),
        ] {
            if url.as_deref().is_some_and(has_password) {
                return Err(error(
                    place_of(text, key),
                    format!("a password does not belong in a file: set {variable} instead"),
                ));
            }
        }
        settings
            .check()
            .map_err(|(key, message)| error(place_of(text, key), message))?;
        Ok(settings)
    }

    /// Reads and checks the file at `file`.
    ///
    /// # Errors
    /// The file cannot be read, or [`Settings::from_toml`]'s.
    pub fn read(file: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(file).map_err(|e| SettingsError {
            file: file.to_owned(),
            at: None,
            message: format!("cannot be read: {e}"),
        })?;
        Settings::from_toml(file, &text)
    }

    /// These settings, each one not given here taken from `under` (a flag over the
    /// file, say).
    pub fn over(self, under: Settings) -> Settings {
        Settings {
            db: self.db.or(under.db),
            postgres: self.postgres.or(under.postgres),
            redis: self.redis.or(under.redis),
            tls_ca: self.tls_ca.or(under.tls_ca),
            listen: self.listen.or(under.listen),
            metrics_listen: self.metrics_listen.or(under.metrics_listen),
            log_format: self.log_format.or(under.log_format),
            policy: self.policy.or(under.policy),
            pid_file: self.pid_file.or(under.pid_file),
            seed_demo: self.seed_demo.or(under.seed_demo),
            trusted_proxy: self.trusted_proxy.or(under.trusted_proxy),
            authz_route: self.authz_route.or(under.authz_route),
            legacy_limit_headers: self.legacy_limit_headers.or(under.legacy_limit_headers),
            hash_memory_mib: self.hash_memory_mib.or(under.hash_memory_mib),
            hash_queue: self.hash_queue.or(under.hash_queue),
            header_timeout_secs: self.header_timeout_secs.or(under.header_timeout_secs),
            body_timeout_secs: self.body_timeout_secs.or(under.body_timeout_secs),
            max_connections: self.max_connections.or(under.max_connections),
            max_connections_per_client: self
                .max_connections_per_client
                .or(under.max_connections_per_client),
            shutdown_grace_secs: self.shutdown_grace_secs.or(under.shutdown_grace_secs),
            audit_retention_days: self.audit_retention_days.or(under.audit_retention_days),
            audit_sync: self.audit_sync.or(under.audit_sync),
        }
    }

    /// What no value of the right type can say: the key and the message.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if self.db.is_some() && self.postgres.is_some() {
            return Err((
                "db",
                "db and postgres name two places for the records: give one".to_owned(),
            ));
        }
        for (key, value) in [
            ("max-connections", self.max_connections),
            (
                "max-connections-per-client",
                self.max_connections_per_client,
            ),
            ("hash-queue", self.hash_queue),
            ("hash-memory-mib", self.hash_memory_mib),
        ] {
            if value == Some(0) {
                return Err((key, format!("{key} must be at least 1")));
            }
        }
        if self.seed_demo == Some(true) && self.listen.is_some_and(|l| !l.ip().is_loopback()) {
            return Err((
                "seed-demo",
                "the demo data (public passwords) is only served on a loopback address".to_owned(),
            ));
        }
        Ok(())
    }

    /// How log events are written.
    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or_default()
    }

    /// The server's configuration: these settings, and the defaults for the rest.
    ///
    /// # Errors
    /// The key and the message of a setting no value of its type can rule out (a cap
    /// of 0, the demo data off loopback, two places for the records).
    pub fn into_config(self) -> Result<Config, (&'static str, String)> {
        self.check()?;
        let records = match self.postgres {
            Some(url) => RecordsAt::Postgres(url),
            None => RecordsAt::Sqlite(self.db.unwrap_or_else(|| PathBuf::from("pw-auth.sqlite"))),
        };
        let listen = self
            .listen
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let mut config = Config::on(records, listen);
        config.redis = self.redis;
        config.tls_ca = self.tls_ca;
        config.metrics_listen = self.metrics_listen;
        config.policy_file = self.policy;
        config.seed_demo = self.seed_demo.unwrap_or(false);
        config.trusted_proxies = TrustedProxies::new(self.trusted_proxy.unwrap_or_default());
        config.authz_routes = self.authz_route.unwrap_or_default();
        config.legacy_limit_headers = self.legacy_limit_headers.unwrap_or(false);
        let hashing = HashingLimits::default();
        config.hashing = HashingLimits {
            memory: self
                .hash_memory_mib
                .map_or(hashing.memory, |m| m.saturating_mul(1024 * 1024)),
            queue: self.hash_queue.unwrap_or(hashing.queue),
        };
        let c = ConnectionLimits::default();
        let secs = |s: Option<u64>, d: Duration| s.map_or(d, Duration::from_secs);
        config.connections = ConnectionLimits {
            header_read_timeout: secs(self.header_timeout_secs, c.header_read_timeout),
            body_read_timeout: secs(self.body_timeout_secs, c.body_read_timeout),
            max_connections: self.max_connections.unwrap_or(c.max_connections),
            max_connections_per_client: self
                .max_connections_per_client
                .unwrap_or(c.max_connections_per_client),
            shutdown_grace: secs(self.shutdown_grace_secs, c.shutdown_grace),
        };
        if let Some(days) = self.audit_retention_days {
            config.retention.audit = Duration::from_secs(days.saturating_mul(86_400));
        }
        config.audit_sync = match self.audit_sync {
            Some(SyncSetting::Full) => AuditSync::Full,
            Some(SyncSetting::Normal) | None => AuditSync::Normal,
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
    use super::*;

    fn parse(text: &str) -> Result<Settings, SettingsError> {
        Settings::from_toml(Path::new("pw.toml"), text)
    }

    fn at(text: &str) -> (Option<(usize, usize)>, String) {
        let e = parse(text).unwrap_err();
        assert_eq!(e.file, Path::new("pw.toml"));
        (e.at, e.message)
    }

    #[test]
    fn every_flag_is_a_key_of_the_same_name() {
        let s = parse(
            r#"
db = "records.sqlite"
tls-ca = "ca.pem"
listen = "127.0.0.1:9000"
metrics-listen = "127.0.0.1:9464"
log-format = "json"
policy = "policy.json"
pid-file = "pw-auth.pid"
seed-demo = true
trusted-proxy = ["10.0.0.0/8", "2001:db8::/32"]
authz-route = ["GET /api/flows/{id} flows.view"]
legacy-limit-headers = true
hash-memory-mib = 64
hash-queue = 8
header-timeout-secs = 5
body-timeout-secs = 6
max-connections = 100
max-connections-per-client = 7
shutdown-grace-secs = 3
audit-retention-days = 30
audit-sync = "full"
redis = "redis://127.0.0.1:6379"
"#,
        )
        .unwrap();
        assert_eq!(s.log_format(), LogFormat::Json);
        assert_eq!(s.pid_file.as_deref(), Some(Path::new("pw-auth.pid")));
        let c = s.into_config().unwrap();
        assert!(matches!(&c.records, RecordsAt::Sqlite(p) if p == Path::new("records.sqlite")));
        assert_eq!(c.tls_ca.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(c.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.policy_file.as_deref(), Some(Path::new("policy.json")));
        assert!(c.seed_demo);
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(c.trusted_proxies.contains("2001:db8::1".parse().unwrap()));
        assert!(!c.trusted_proxies.contains("192.0.2.1".parse().unwrap()));
        assert_eq!(
            c.authz_routes,
            ["GET /api/flows/{id} flows.view".parse().unwrap()]
        );
        assert!(c.legacy_limit_headers);
        assert_eq!(c.hashing.memory, 64 * 1024 * 1024);
        assert_eq!(c.hashing.queue, 8);
        assert_eq!(
            c.connections,
            ConnectionLimits {
                header_read_timeout: Duration::from_secs(5),
                body_read_timeout: Duration::from_secs(6),
                max_connections: 100,
                max_connections_per_client: 7,
                shutdown_grace: Duration::from_secs(3),
            }
        );
        assert_eq!(c.retention.audit, Duration::from_secs(30 * 86_400));
        assert_eq!(c.audit_sync, AuditSync::Full);
        assert_eq!(c.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let c = parse("# nothing\n").unwrap().into_config().unwrap();
        let d = Config::on(
            RecordsAt::Sqlite(PathBuf::from("pw-auth.sqlite")),
            "127.0.0.1:8080".parse().unwrap(),
        );
        assert!(matches!(&c.records, RecordsAt::Sqlite(p) if p == Path::new("pw-auth.sqlite")));
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.connections, d.connections);
        assert_eq!(c.hashing, d.hashing);
        assert_eq!(c.retention, d.retention);
        assert_eq!(c.audit_sync, AuditSync::Normal);
        assert!(!c.seed_demo && c.metrics_listen.is_none() && c.policy_file.is_none());
    }

    #[test]
    fn each_error_names_its_line_and_column() {
        assert_eq!(
            at("listen = \"127.0.0.1:1\"\nmax-conections = 5\n").0,
            Some((2, 1)),
            "an unknown key"
        );
        let (place, message) = at("\n\nlisten = 5\n");
        assert_eq!(place, Some((3, 10)), "a value of the wrong type");
        assert!(message.contains("socket address"), "{message}");
        assert_eq!(at("listen = \n").0.map(|(l, _)| l), Some(1), "not TOML");
        let (place, message) = at("authz-route = [\"GET /a\"]\n");
        assert_eq!(place, Some((1, 15)), "{message}");
        assert!(message.contains("three words"), "{message}");
        let (place, message) = at("trusted-proxy = [\"10.0.0.0/33\"]\n");
        assert_eq!(place.map(|(l, _)| l), Some(1));
        assert!(
            message.contains("prefix") || message.contains("/33"),
            "{message}"
        );
        assert_eq!(
            at("audit-sync = \"sometimes\"\n").0.map(|(l, _)| l),
            Some(1)
        );
    }

    #[test]
    fn what_no_type_rules_out_is_named_with_its_line() {
        for key in [
            "max-connections",
            "max-connections-per-client",
            "hash-queue",
            "hash-memory-mib",
        ] {
            let (place, message) = at(&format!("# a comment naming {key}\n\n  {key} = 0\n"));
            assert_eq!(place, Some((3, 3)), "{key}");
            assert_eq!(message, format!("{key} must be at least 1"));
        }
        let (place, message) = at("listen = \"0.0.0.0:80\"\nseed-demo = true\n");
        assert_eq!(place, Some((2, 1)));
        assert!(message.contains("loopback"), "{message}");
        assert!(parse("listen = \"127.0.0.1:80\"\nseed-demo = true\n").is_ok());
        let (place, _) = at("db = \"x.sqlite\"\npostgres = \"postgres://app@db/records\"\n");
        assert_eq!(place, Some((1, 1)));
    }

    #[test]
    fn a_password_in_a_url_stays_out_of_the_file() {
        for (text, variable) in [
            (
                "postgres = \"postgres://app:hunter2@db/records\"",
                "PW_AUTH_POSTGRES_URL",
            ),
            (
                "postgres = \"host=db password=hunter2\"",
                "PW_AUTH_POSTGRES_URL",
            ),
            (
                "redis = \"rediss://:hunter2@cache:6380\"",
                "PW_AUTH_REDIS_URL",
            ),
        ] {
            let e = parse(&format!("\n{text}\n")).unwrap_err();
            assert_eq!(e.at, Some((2, 1)), "{text}");
            assert!(e.message.contains(variable), "{}", e.message);
            assert!(
                !e.to_string().contains("hunter2"),
                "the error never repeats it"
            );
        }
        // Without a password, a URL may be written down.
        let s = parse("postgres = \"postgres://app@db/records?sslmode=require\"\n").unwrap();
        assert!(matches!(
            s.into_config().unwrap().records,
            RecordsAt::Postgres(_)
        ));
        assert!(parse("redis = \"redis://cache:6379/0\"\n").is_ok());
        // Nor does Debug show one.
        let flags = Settings {
            postgres: Some("postgres://app:hunter2@db/records".to_owned()),
            redis: Some("rediss://:hunter2@cache".to_owned()),
            ..Settings::default()
        };
        assert!(!format!("{flags:?}").contains("hunter2"));
    }

    #[test]
    fn a_flag_wins_over_the_file_and_the_file_over_the_default() {
        let file =
            parse("listen = \"127.0.0.1:9000\"\nmax-connections = 10\nhash-queue = 4\n").unwrap();
        let flags = Settings {
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            hash_queue: Some(5),
            ..Settings::default()
        };
        let c = flags.over(file).into_config().unwrap();
        assert_eq!(c.listen, "127.0.0.1:9001".parse().unwrap(), "the flag");
        assert_eq!(c.hashing.queue, 5, "the flag");
        assert_eq!(c.connections.max_connections, 10, "the file");
        assert_eq!(
            c.connections.shutdown_grace,
            Duration::from_secs(10),
            "the default"
        );
    }

    #[test]
    fn the_error_reads_file_line_column_message() {
        let e = SettingsError {
            file: PathBuf::from("/etc/pw.toml"),
            at: Some((3, 7)),
            message: "bad".to_owned(),
        };
        assert_eq!(e.to_string(), "/etc/pw.toml:3:7: bad");
        let e = SettingsError { at: None, ..e };
        assert_eq!(e.to_string(), "/etc/pw.toml: bad");
    }

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, text.find('f').unwrap()), (3, 1));
        assert_eq!(line_col(text, text.find('\n').unwrap()), (1, 3));
        assert_eq!(line_col(text, 7), (2, 4), "after é");
    }
}
