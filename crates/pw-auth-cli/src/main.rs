//! `pw-auth`: the edge of pw-auth. It reads files and stdin and prints; the libraries
//! it drives do no IO.

#![forbid(unsafe_code)]
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command line prints"
)]

mod authorize_cmd;
mod batch;
mod demo;
mod directory;
mod policy_cmd;
mod world;

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pw_auth_core::Policy;
use time::OffsetDateTime;

/// Authentication and authorisation for APIs built like the Patchworks Core API.
#[derive(Debug, Parser)]
#[command(name = "pw-auth", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole client ↔ server flow on an embedded demo company.
    Demo {
        /// Print the demo's fixture credentials (for trying `authorize`) instead.
        #[arg(long)]
        credentials: bool,
    },
    /// Decide one request given as JSON:
    /// `{"authorization": "<value>" | null, "action": "<id>", "company": "<id>", "time": "<RFC 3339>"?}`.
    ///
    /// Exit status: 0 allow, 2 deny, 1 bad input. Without --directory the embedded demo
    /// directory is used and the time defaults to the demo's clock
    /// (2026-11-27T12:00:00Z); with one, to the system clock.
    Authorize {
        /// The request file; `-` or nothing for stdin.
        file: Option<String>,
        /// A directory JSON file (companies, users, grants, api_keys, tokens).
        #[arg(long)]
        directory: Option<String>,
        /// A policy JSON file instead of the default policy.
        #[arg(long)]
        policy: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show or check policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Parse `Authorization` values in bulk.
    Header {
        #[command(subcommand)]
        command: BatchCommand,
    },
    /// Parse `WWW-Authenticate` values in bulk.
    Challenge {
        #[command(subcommand)]
        command: BatchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// The role × action table, per tier.
    Matrix {
        /// A policy JSON file instead of the default policy.
        #[arg(long)]
        policy: Option<String>,
        /// JSON for tools instead of markdown for people.
        #[arg(long)]
        json: bool,
    },
    /// Check a policy file; errors come with line and column.
    Check {
        /// The policy JSON file.
        file: String,
    },
}

#[derive(Debug, Subcommand)]
enum BatchCommand {
    /// Read JSON Lines on stdin (one JSON string per line); write one JSON line per
    /// input line: {"ok": …} or {"error": {"kind", "message"}}.
    Parse,
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))
}

fn read_input(file: Option<&str>) -> Result<String, String> {
    match file {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok(s)
        }
        Some(path) => read(path),
    }
}

fn load_policy(path: Option<&str>) -> Result<Policy, String> {
    match path {
        None => Ok(Policy::default_policy()),
        Some(p) => policy_cmd::load(p, &read(p)?),
    }
}

fn run(cli: Cli) -> Result<(String, u8), String> {
    match cli.command {
        Command::Demo { credentials: false } => demo::run().map(|s| (s, 0)),
        Command::Demo { credentials: true } => demo::credentials().map(|s| (s, 0)),
        Command::Authorize {
            file,
            directory,
            policy,
            json,
        } => {
            let policy = load_policy(policy.as_deref())?;
            let (dir, now) = match directory {
                None => (
                    world::build().map_err(|e| e.to_string())?.directory,
                    world::DEMO_NOW,
                ),
                Some(path) => {
                    let dir = serde_json::from_str(&read(&path)?)
                        .map_err(|e| format!("{path}: invalid directory: {e}"))?;
                    (dir, OffsetDateTime::now_utc())
                }
            };
            let input = read_input(file.as_deref())?;
            authorize_cmd::run(&input, &dir, now, &policy, json)
        }
        Command::Policy {
            command: PolicyCommand::Matrix { policy, json },
        } => policy_cmd::matrix(&load_policy(policy.as_deref())?, json).map(|s| (s, 0)),
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => policy_cmd::check(&file, &read(&file)?).map(|s| (s, 0)),
        Command::Header {
            command: BatchCommand::Parse,
        } => batch_run(batch::Kind::Header),
        Command::Challenge {
            command: BatchCommand::Parse,
        } => batch_run(batch::Kind::Challenge),
    }
}

fn batch_run(kind: batch::Kind) -> Result<(String, u8), String> {
    let stdout = std::io::stdout();
    batch::run(
        kind,
        std::io::stdin().lock(),
        std::io::BufWriter::new(stdout.lock()),
    )
    .map_err(|e| format!("i/o error: {e}"))?;
    Ok((String::new(), 0))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok((out, code)) => {
            print!("{out}");
            ExitCode::from(code)
        }
        Err(message) => {
            eprintln!("pw-auth: {message}");
            ExitCode::from(1)
        }
    }
}
