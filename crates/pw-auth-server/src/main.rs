//! `pw-auth-server serve`: the reference server on an embedded SQLite file, or on
//! PostgreSQL and Redis when several servers share one state.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::time::Duration;

use pw_auth_http::{Cidr, TrustedProxies};
use pw_auth_server::{
    AuditSync, Chain, Config, ConnectionLimits, DEMO_USERS, HashingLimits, RecordsAt, start,
};

/// Every freed heap block is zeroed before it goes back to the system allocator. The
/// server wipes the secrets it owns (login bodies, tokens, keys, argon2's blocks), but
/// hyper reads each request head into a connection buffer of its own and frees it
/// later, `Authorization: Bearer …` and all; nothing outside hyper can wipe that
/// buffer, so the allocator does (`tests/memcheck_zeroing.rs`).
#[global_allocator]
static ALLOC: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

/// The pw-auth reference server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform's endpoints until Ctrl-C.
    Serve {
        /// The database file; created and migrated if missing.
        #[arg(long, default_value = "pw-auth.sqlite", conflicts_with = "postgres")]
        db: PathBuf,
        /// Keep the records in PostgreSQL instead (`postgres://user:password@host/db`),
        /// shared with every server given the same URL. Read from the environment, so
        /// that a password is not shown in the process list.
        #[arg(long, env = "PW_AUTH_POSTGRES_URL", hide_env_values = true)]
        postgres: Option<String>,
        /// Keep the usage and failure budgets in Redis (`redis://host:port`), one
        /// budget per company across every server given the same URL.
        #[arg(long, env = "PW_AUTH_REDIS_URL", hide_env_values = true)]
        redis: Option<String>,
        /// CA certificates (PEM) that PostgreSQL's and Redis's certificates are
        /// verified against, instead of the system's. TLS is asked for by the URLs:
        /// `sslmode=require` (verified like libpq's verify-full) and `rediss://`.
        #[arg(long, value_name = "FILE")]
        tls_ca: Option<PathBuf>,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve `/metrics` on this address instead of beside the API (for example
        /// one only the monitoring network reaches).
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
        /// How log events are written to stderr: `text` for people, `json` (one
        /// object a line) for a log pipeline. Which events: `RUST_LOG` (default
        /// `info`; e.g. `pw_auth_server=debug`).
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// Decide with the policy document (JSON) in this file instead of the default
        /// policy. Read again on SIGHUP: a file that fails to compile keeps the
        /// running policy, and its error (with line and column) is logged.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Load the demo company into a fresh database (its passwords are public:
        /// refused unless listening on a loopback address).
        #[arg(long)]
        seed_demo: bool,
        /// A proxy (or block of them, `10.0.0.0/8`) whose `Forwarded` and
        /// `X-Forwarded-For` fields are believed; repeat for several. Without one,
        /// every client is its peer address.
        #[arg(long = "trusted-proxy", value_name = "CIDR")]
        trusted_proxies: Vec<Cidr>,
        /// The memory all password verifications together may hold, in MiB (19 MiB
        /// each: 128 runs six at once).
        #[arg(long, default_value_t = 128)]
        hash_memory_mib: usize,
        /// How many password verifications may wait; more are refused (503).
        #[arg(long, default_value_t = 32)]
        hash_queue: usize,
        /// Seconds a client may take to send a request's headers (also how long an
        /// idle kept-alive connection stays open).
        #[arg(long, default_value_t = 10)]
        header_timeout_secs: u64,
        /// Seconds a client may take to send a request's body.
        #[arg(long, default_value_t = 10)]
        body_timeout_secs: u64,
        /// Connections open at once, in all.
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Connections open at once from one client address (IPv6 by /64).
        #[arg(long, default_value_t = 64)]
        max_connections_per_client: usize,
        /// Seconds a stopping server lets requests in flight finish.
        #[arg(long, default_value_t = 10)]
        shutdown_grace_secs: u64,
        /// Days audit records are kept.
        #[arg(long, default_value_t = 90)]
        audit_retention_days: u64,
        /// How each commit of the audit log (which also holds the budgets charged since
        /// the last one) reaches the disk on SQLite: `normal` survives a crash of the
        /// process, `full` a power failure too, at the cost of one sync per commit.
        #[arg(long, value_enum, default_value_t = Sync::Normal)]
        audit_sync: Sync,
    },
}

/// `--audit-sync`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Sync {
    Normal,
    Full,
}

/// `--log-format`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Log events to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON.
fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second subscriber cannot be set in one process; there is no other.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

#[expect(clippy::print_stderr, reason = "a command line reports to stderr")]
fn main() -> ExitCode {
    let Command::Serve {
        db,
        postgres,
        redis,
        tls_ca,
        listen,
        metrics_listen,
        log_format,
        policy,
        seed_demo,
        trusted_proxies,
        hash_memory_mib,
        hash_queue,
        header_timeout_secs,
        body_timeout_secs,
        max_connections,
        max_connections_per_client,
        shutdown_grace_secs,
        audit_retention_days,
        audit_sync,
    } = Cli::parse().command;
    init_logs(log_format);
    let (records, shown) = match postgres {
        Some(url) => (RecordsAt::Postgres(url), "PostgreSQL".to_owned()),
        None => (RecordsAt::Sqlite(db.clone()), db.display().to_string()),
    };
    let shown = match &redis {
        Some(_) => format!("{shown} (budgets on Redis)"),
        None => shown,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pw-auth-server: {}", Chain(&e));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut config = Config::on(records, listen);
        config.redis = redis;
        config.metrics_listen = metrics_listen;
        config.policy_file = policy;
        config.tls_ca = tls_ca;
        config.seed_demo = seed_demo;
        config.trusted_proxies = TrustedProxies::new(trusted_proxies);
        config.hashing = HashingLimits {
            memory: hash_memory_mib.saturating_mul(1024 * 1024),
            queue: hash_queue,
        };
        config.connections = ConnectionLimits {
            header_read_timeout: Duration::from_secs(header_timeout_secs),
            body_read_timeout: Duration::from_secs(body_timeout_secs),
            max_connections,
            max_connections_per_client,
            shutdown_grace: Duration::from_secs(shutdown_grace_secs),
        };
        config.audit_sync = match audit_sync {
            Sync::Normal => AuditSync::Normal,
            Sync::Full => AuditSync::Full,
        };
        config.retention.audit = Duration::from_secs(audit_retention_days.saturating_mul(86_400));
        let running = match start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("pw-auth-server: {}", Chain(&e));
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "pw-auth-server: listening on http://{} with {shown}",
            running.addr(),
        );
        eprintln!(
            "pw-auth-server: deciding with policy {}",
            running.policy_id()
        );
        if let Some(at) = running.metrics_addr() {
            eprintln!("pw-auth-server: metrics on http://{at}/metrics");
        }
        // Only when this start loaded them: a database seeded before may have
        // changed its passwords since.
        if running.seeded_demo() {
            for (username, password, role) in DEMO_USERS {
                eprintln!("  demo {role}: {username} / {password}");
            }
        }
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("pw-auth-server: stopping");
        match running.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pw-auth-server: {}", Chain(&e));
                ExitCode::FAILURE
            }
        }
    })
}
