//! `pw-auth-server serve`: the reference server on an embedded SQLite file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pw_auth_server::{Config, DEMO_USERS, start};

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
        #[arg(long, default_value = "pw-auth.sqlite")]
        db: PathBuf,
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
        listen,
        seed_demo,
    } = Cli::parse().command;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pw-auth-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut config = Config::new(db.clone(), listen);
        config.seed_demo = seed_demo;
        let running = match start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("pw-auth-server: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "pw-auth-server: listening on http://{} with {}",
            running.addr(),
            db.display()
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
