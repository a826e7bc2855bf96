//! `pw-auth-server serve`: the reference server on an embedded SQLite file, or on
//! PostgreSQL and Redis when several servers share one state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use pw_auth_server::settings::{LogFormat, Settings};
use pw_auth_server::{
    AuditSync, Chain, DEMO_USERS, REDIS_PREFIX, RecordsAt, RedisLimits, hash_password,
    open_records, start,
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
    /// Serve the platform's endpoints until Ctrl-C (SIGHUP reloads the policy file).
    Serve {
        /// Read the settings from this TOML file first (its keys are the flags'
        /// names); a flag or an environment variable given as well wins.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// What only the platform's operators do, on the records directly: a SQLite file
    /// only while no server has it open (stop it first), PostgreSQL at any time.
    /// Passwords are read from stdin (one line), never from an argument.
    Admin {
        #[command(flatten)]
        at: Box<Records>,
        /// The policy file the servers decide with, named in each command's audit
        /// record (the default policy without it).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[command(subcommand)]
        op: AdminOp,
    },
    /// Check a settings file (and the policy file it names) without serving: prints
    /// the first error with its line and column, and exits 1.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
}

/// An operator's command.
#[derive(Subcommand)]
enum AdminOp {
    /// Create a company with its first administrator (the password from stdin).
    CreateCompany {
        /// The company's id.
        company: String,
        /// Its tier: trial, standard, professional, enterprise.
        #[arg(long)]
        tier: String,
        /// The parent company it is linked to, if any.
        #[arg(long)]
        parent: Option<String>,
        /// The administrator's user id.
        #[arg(long)]
        admin_id: String,
        /// The administrator's username (what they log in with).
        #[arg(long)]
        admin_username: String,
    },
    /// Change a company's tier.
    SetTier {
        /// The company.
        company: String,
        /// The tier.
        tier: String,
    },
    /// Link a company to a parent.
    Link {
        /// The (child) company.
        company: String,
        /// Its parent.
        parent: String,
    },
    /// Unlink a company from its parent: every grant for it is withdrawn at once.
    Unlink {
        /// The (child) company.
        company: String,
    },
    /// Give a parent's member a grant for a linked company (again: a new end).
    Grant {
        /// The user.
        user: String,
        /// The linked company.
        company: String,
        /// When the grant ends (RFC 3339, e.g. 2026-12-31T18:00:00Z); none: never.
        #[arg(long)]
        until: Option<String>,
    },
    /// Withdraw a grant.
    WithdrawGrant {
        /// The user.
        user: String,
        /// The linked company.
        company: String,
    },
    /// Set a new password (from stdin) for the user who logs in as USERNAME, and
    /// revoke every token of theirs.
    ResetPassword {
        /// The username.
        username: String,
    },
    /// Tell the server whose process id is in FILE (`serve --pid-file FILE`) to
    /// read its policy file again (SIGHUP); the server logs whether it took it.
    ReloadPolicy {
        /// The server's pid file.
        #[arg(long, value_name = "FILE")]
        pid_file: PathBuf,
    },
    /// Disable every user of a company (its people and its API keys' api-users):
    /// each is refused from the next request.
    DisableCompany {
        /// The company.
        company: String,
    },
}

/// A password from stdin's first line (its line end cut), wiped when dropped.
fn password_from_stdin() -> Result<pw_auth_core::Password, String> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from stdin: {e}"))?;
    let text = line.trim_end_matches(['\n', '\r']);
    if text.chars().count() < 8 {
        return Err("the password (stdin's first line) must be at least 8 characters".to_owned());
    }
    pw_auth_core::Password::new(text.to_owned()).map_err(|e| e.to_string())
}

/// Runs an operator's command; what it did, for stdout.
/// Where the `admin` command finds the records, and the servers' Redis.
#[derive(clap::Args)]
struct Records {
    /// The SQLite database file.
    #[arg(long, default_value = "pw-auth.sqlite", conflicts_with = "postgres")]
    db: PathBuf,
    /// The PostgreSQL records instead (best from the environment).
    #[arg(long, env = "PW_AUTH_POSTGRES_URL", hide_env_values = true)]
    postgres: Option<String>,
    /// With `--postgres`: the servers' Redis (best from the environment), told of
    /// each change so that every server reads it at its next request (without it,
    /// within a second).
    #[arg(long, env = "PW_AUTH_REDIS_URL", hide_env_values = true)]
    redis: Option<String>,
    /// CA certificates (PEM) PostgreSQL's and Redis's certificates are verified
    /// against.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
}

async fn admin(at: Records, policy: Option<PathBuf>, op: AdminOp) -> Result<String, String> {
    let Records {
        db,
        postgres,
        redis,
        tls_ca,
    } = at;
    use pw_auth_core::{CompanyId, Policy, Role, Tier, UserId, UserRecord, UserStatus};
    let company = |s: &str| CompanyId::new(s).map_err(|e| format!("`{s}`: {e}"));
    let user = |s: &str| UserId::new(s).map_err(|e| format!("`{s}`: {e}"));
    let tier = |s: &str| s.parse::<Tier>().map_err(|e| format!("`{s}`: {e}"));
    if let AdminOp::ReloadPolicy { pid_file } = &op {
        // A signal, not the records: the server has them (a SQLite file is its own).
        return reload_policy(pid_file);
    }
    let postgres_records = postgres.is_some();
    let records = match postgres {
        Some(url) => RecordsAt::Postgres(url),
        None => RecordsAt::Sqlite(db),
    };
    let store = |e: pw_auth_axum::StoreError| Chain(&e).to_string();
    // A password is read before the records are opened: nothing is held meanwhile.
    let password = match &op {
        AdminOp::CreateCompany { .. } | AdminOp::ResetPassword { .. } => {
            Some(password_from_stdin()?)
        }
        _ => None,
    };
    // The policy named in the audit records, read before anything is changed.
    let policy = match &policy {
        Some(path) => Policy::from_json(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot be read: {e}", path.display()))?,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?,
        None => Policy::default_policy(),
    };
    let db = open_records(&records, tls_ca.as_deref(), AuditSync::Normal)
        .await
        .map_err(store)?;
    // A SQLite file's server is its only writer: nobody to tell.
    let db = match redis.as_ref().filter(|_| postgres_records) {
        Some(url) => db.with_records_generation(
            &RedisLimits::connect_with_ca(url, REDIS_PREFIX, tls_ca.as_deref())
                .await
                .map_err(store)?,
            std::sync::Arc::new(time::OffsetDateTime::now_utc),
        ),
        None => db,
    };
    let hash = |p: &pw_auth_core::Password| hash_password(p.expose_secret()).map_err(store);
    use pw_auth_core::OperatorAction as Op;
    // What was done, for stdout, and what to record: the command, the company and the
    // user it acted on.
    type Done = (String, Option<(Op, CompanyId, Option<UserId>)>);
    let found = |ok: bool, what: String, record: (Op, CompanyId)| -> Result<Done, String> {
        if ok {
            Ok((what, Some((record.0, record.1, None))))
        } else {
            Err("no such company".to_owned())
        }
    };
    let done: Done = match op {
        AdminOp::CreateCompany {
            company: id,
            tier: t,
            parent,
            admin_id,
            admin_username,
        } => {
            let (id, t, admin_id) = (company(&id)?, tier(&t)?, user(&admin_id)?);
            let parent = parent.as_deref().map(company).transpose()?;
            let Some(password) = &password else {
                return Err("no password".to_owned());
            };
            let phc = hash(password)?;
            db.add_company(id.clone(), t, parent).await.map_err(store)?;
            let admin = UserRecord::active(admin_id.clone(), id.clone(), Role::Administrator);
            if !db
                .add_user_unless_taken(admin, admin_username.clone(), phc)
                .await
                .map_err(store)?
            {
                return Err(format!("the user id `{admin_id}` or the username is taken"));
            }
            (
                format!(
                    "company {id} ({}), administrator {admin_id} logging in as {admin_username}",
                    t.as_str()
                ),
                Some((Op::CreateCompany, id, Some(admin_id))),
            )
        }
        AdminOp::SetTier {
            company: c,
            tier: t,
        } => {
            let (c, t) = (company(&c)?, tier(&t)?);
            found(
                db.set_tier(c.clone(), t).await.map_err(store)?,
                format!("{c}: {}", t.as_str()),
                (Op::SetTier, c.clone()),
            )?
        }
        AdminOp::Link { company: c, parent } => {
            let (c, p) = (company(&c)?, company(&parent)?);
            found(
                db.set_parent(c.clone(), Some(p.clone()))
                    .await
                    .map_err(store)?,
                format!("{c} linked to {p}"),
                (Op::Link, c.clone()),
            )?
        }
        AdminOp::Unlink { company: c } => {
            let c = company(&c)?;
            found(
                db.set_parent(c.clone(), None).await.map_err(store)?,
                format!("{c} unlinked; every grant for it withdrawn"),
                (Op::Unlink, c.clone()),
            )?
        }
        AdminOp::Grant {
            user: u,
            company: c,
            until,
        } => {
            let (u, c) = (user(&u)?, company(&c)?);
            let end = match until {
                None => None,
                Some(text) => {
                    let at = time::OffsetDateTime::parse(
                        &text,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .map_err(|e| format!("--until `{text}`: {e}"))?;
                    if at <= time::OffsetDateTime::now_utc() {
                        return Err(format!("--until `{text}` is not in the future"));
                    }
                    Some(at)
                }
            };
            db.grant(u.clone(), c.clone(), end).await.map_err(store)?;
            let said = match until_text(end) {
                Some(end) => format!("{u} may act in {c} until {end}"),
                None => format!("{u} may act in {c}"),
            };
            (said, Some((Op::Grant, c, Some(u))))
        }
        AdminOp::WithdrawGrant {
            user: u,
            company: c,
        } => {
            let (u, c) = (user(&u)?, company(&c)?);
            if db
                .withdraw_grant(u.clone(), c.clone())
                .await
                .map_err(store)?
            {
                (
                    format!("{u} no longer acts in {c}"),
                    Some((Op::WithdrawGrant, c, Some(u))),
                )
            } else {
                return Err(format!("{u} holds no grant for {c}"));
            }
        }
        AdminOp::ResetPassword { username } => {
            let Some(password) = &password else {
                return Err("no password".to_owned());
            };
            let phc = hash(password)?;
            let now = time::OffsetDateTime::now_utc();
            let Some((holder, _)) = db.login_user(username.clone()).await.map_err(store)? else {
                return Err(format!("no user logs in as {username}"));
            };
            match db
                .reset_password(username.clone(), phc, now)
                .await
                .map_err(store)?
            {
                Some(id) => (
                    format!("{id}: a new password; every token revoked"),
                    Some((Op::ResetPassword, holder.company, Some(id))),
                ),
                None => return Err(format!("no user logs in as {username}")),
            }
        }
        AdminOp::ReloadPolicy { pid_file } => (reload_policy(&pid_file)?, None),
        AdminOp::DisableCompany { company: c } => {
            let c = company(&c)?;
            let users = db.users_of(c.clone()).await.map_err(store)?;
            if users.is_empty() {
                return Err(format!("{c} has no users"));
            }
            let n = users.len();
            for (mut u, _) in users {
                u.status = UserStatus::Disabled;
                db.set_user(u).await.map_err(store)?;
            }
            (
                format!("{c}: {n} users disabled"),
                Some((Op::DisableCompany, c, None)),
            )
        }
    };
    // Each command that changed the records leaves an audit record, as a request
    // would: nothing is done that is not recorded (the records changed already; a
    // failed record is reported, and the command's exit status says so).
    let (said, record) = done;
    if let Some((command, company, user)) = record {
        let record = pw_auth_core::AuditRecord::operator_command(
            &policy,
            command,
            &company,
            user.as_ref(),
            time::OffsetDateTime::now_utc(),
        );
        pw_auth_axum::AuthStore::audit(&db, &record)
            .await
            .map_err(|e| format!("{said}, but its audit record failed: {}", Chain(&e)))?;
    }
    Ok(said)
}

/// Sends SIGHUP to the process whose id is in `pid_file` (with `kill`, as an operator
/// would: no signal code of this program's own).
fn reload_policy(pid_file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(pid_file)
        .map_err(|e| format!("{}: cannot be read: {e}", pid_file.display()))?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{}: does not hold a process id", pid_file.display()))?;
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .map_err(|e| format!("running kill: {e}"))?;
    if sent.success() {
        Ok(format!(
            "sent SIGHUP to {pid}: the server logs whether it took the policy"
        ))
    } else {
        Err(format!("no server {pid} to signal"))
    }
}

/// Writes this process's id to `path`, private to its owner.
fn write_pid_file(path: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", std::process::id())
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
        Command::Serve { config, settings } => (config, *settings),
        Command::Admin { at, policy, op } => {
            let done = tokio::runtime::Runtime::new()
                .map_err(|e| Chain(&e).to_string())
                .and_then(|rt| rt.block_on(admin(*at, policy, op)));
            return match done {
                Ok(what) => {
                    println!("{what}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pw-auth-server admin: {e}");
                    ExitCode::FAILURE
                }
            };
        }
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
    let pid_file = settings.pid_file.clone();
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
        if let Some(path) = &pid_file
            && let Err(e) = write_pid_file(path)
        {
            eprintln!("pw-auth-server: {}: {}", path.display(), Chain(&e));
            let _ = running.stop().await;
            return ExitCode::FAILURE;
        }
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
        if let Some(path) = &pid_file {
            let _ = std::fs::remove_file(path);
        }
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

/// A grant's end as RFC 3339, if it has one.
fn until_text(end: Option<time::OffsetDateTime>) -> Option<String> {
    end.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
}
