//! `pw-auth-server serve`: the reference server on an embedded SQLite file, or on
//! PostgreSQL and Redis when several servers share one state.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pw_auth_server::{Config, DEMO_USERS, RecordsAt, start};

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
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Load the demo company into a fresh database.
        #[arg(long)]
        seed_demo: bool,
    },
}

#[expect(clippy::print_stderr, reason = "a command line reports to stderr")]
fn main() -> ExitCode {
    let Command::Serve {
        db,
        postgres,
        redis,
        listen,
        seed_demo,
    } = Cli::parse().command;
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
            eprintln!("pw-auth-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut config = Config::on(records, listen);
        config.redis = redis;
        config.seed_demo = seed_demo;
        let running = match start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("pw-auth-server: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "pw-auth-server: listening on http://{} with {shown}",
            running.addr(),
        );
        if seed_demo {
            for (username, password, role) in DEMO_USERS {
                eprintln!("  demo {role}: {username} / {password}");
            }
        }
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("pw-auth-server: stopping");
        match running.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pw-auth-server: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
