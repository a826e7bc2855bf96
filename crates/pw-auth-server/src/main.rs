//! `pw-auth-server serve`: the reference server on an embedded SQLite file, or on
//! PostgreSQL and Redis when several servers share one state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use pw_auth_server::settings::{LogFormat, Settings};
use pw_auth_server::{Chain, DEMO_USERS, start};

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
#[expect(clippy::large_enum_variant, reason = "parsed once, at start")]
enum Command {
    /// Serve the platform's endpoints until Ctrl-C (SIGHUP reloads the policy file).
    Serve {
        /// Read the settings from this TOML file first (its keys are the flags'
        /// names); a flag or an environment variable given as well wins.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: Settings,
    },
    /// Check a settings file (and the policy file it names) without serving: prints
    /// the first error with its line and column, and exits 1.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
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

/// The settings of `serve`: the flags (and environment) over the file, if any.
fn settings(config: Option<PathBuf>, flags: Settings) -> Result<Settings, String> {
    match config {
        Some(file) => Settings::read(&file)
            .map(|from_file| flags.over(from_file))
            .map_err(|e| e.to_string()),
        None => Ok(flags),
    }
}

#[expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command line reports"
)]
fn main() -> ExitCode {
    let (config, flags) = match Cli::parse().command {
        Command::Serve { config, settings } => (config, settings),
        Command::CheckConfig { file } => {
            return match check_config(&file) {
                Ok(summary) => {
                    println!("{}: ok ({summary})", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let settings = match settings(config, flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pw-auth-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logs(settings.log_format());
    let shown = match (&settings.postgres, &settings.db) {
        (Some(_), _) => "PostgreSQL".to_owned(),
        (None, Some(db)) => db.display().to_string(),
        (None, None) => "pw-auth.sqlite".to_owned(),
    };
    let shown = match &settings.redis {
        Some(_) => format!("{shown} (budgets on Redis)"),
        None => shown,
    };
    let config = match settings.into_config() {
        Ok(c) => c,
        Err((key, message)) => {
            eprintln!("pw-auth-server: {key}: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pw-auth-server: {}", Chain(&e));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
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

/// `check-config FILE`: the file's settings, the configuration they make, and the
/// policy file they name, each checked as `serve` would; a summary, or the first
/// error with its place.
fn check_config(file: &Path) -> Result<String, String> {
    let settings = Settings::read(file).map_err(|e| e.to_string())?;
    let policy = settings.policy.clone();
    let config = settings
        .into_config()
        .map_err(|(key, message)| format!("{}: {key}: {message}", file.display()))?;
    let policy_id = match &policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
            let compiled = pw_auth_core::Policy::from_json(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            compiled.id().to_owned()
        }
        None => config.policy.id().to_owned(),
    };
    Ok(format!("listens on {}, policy {policy_id}", config.listen))
}
