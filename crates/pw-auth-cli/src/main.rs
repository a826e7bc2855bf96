//! `pw-auth`: the edge of pw-auth. It reads files and stdin and prints; the libraries
//! it drives do no IO.

#![forbid(unsafe_code)]
// No `print!`: it panics when stdout is closed or full. Everything goes through
// `output`, which escapes what came from the input and reports write errors.

mod authorize_cmd;
mod batch;
mod demo;
mod directory;
mod output;
mod policy_cmd;
mod world;

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{EXIT_BAD_INPUT, EXIT_OK, EXIT_USAGE};
use pw_auth_core::Policy;
use time::OffsetDateTime;

/// Authentication and authorisation for APIs built like the Patchworks Core API.
#[derive(Debug, Parser)]
#[command(
    name = "pw-auth",
    version,
    about,
    long_about = None,
    after_help = "Exit status: 0 success (or allow), 1 bad input or output that could not be written, 2 deny, 3 `policy diff` found changes or `policy test` failures, 64 a wrong command line."
)]
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
    /// Exit status: 0 allow, 2 deny, 1 bad input, 64 a wrong command line. Without
    /// --directory the embedded demo
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
        /// A JSON file of named API-key scopes (`{"deployer": {"actions": [...],
        /// "view": [...], "edit": [...]}}`): a column for a key narrowed by each.
        #[arg(long, value_name = "FILE")]
        key_scopes: Option<String>,
        /// JSON for tools instead of markdown for people.
        #[arg(long)]
        json: bool,
    },
    /// Check a policy file; errors come with line and column.
    Check {
        /// The policy JSON file.
        file: String,
    },
    /// Run a file of expected decisions (JSON Lines: `role` or `custom_role`,
    /// `action`, `tier`, `place`, `expect`, and optionally the reason's kind and, for
    /// an `api-user`, the key's `scope`) against a policy; every failing case is
    /// printed with what the policy decides.
    ///
    /// Exit status: 0 every case held, 3 some failed, 1 bad input.
    Test {
        /// The policy JSON file.
        policy: String,
        /// The cases file.
        cases: String,
    },
    /// The decisions that differ between two policies: every role and custom role ×
    /// action × tier × place whose decision or reason changed.
    ///
    /// Exit status: 0 no decision changed, 3 some did, 1 bad input.
    Diff {
        /// The policy before the change.
        before: String,
        /// The policy after it.
        after: String,
        /// A JSON file of named API-key scopes (checked against the policy before):
        /// the cells of keys narrowed by each are compared too.
        #[arg(long, value_name = "FILE")]
        key_scopes: Option<String>,
        /// JSON for tools instead of markdown for people.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BatchCommand {
    /// Read JSON Lines on stdin (one JSON string per line, at most 64 KiB); write one
    /// JSON line per input line: {"ok": …} or {"error": {"kind", "message"}}.
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

/// What a command prints, its exit status, and whether the text is JSON.
struct Printed {
    text: String,
    code: u8,
    json: bool,
}

impl Printed {
    fn text(text: String, code: u8) -> Printed {
        Printed {
            text,
            code,
            json: false,
        }
    }
}

fn run(cli: Cli) -> Result<Printed, String> {
    match cli.command {
        Command::Demo { credentials: false } => demo::run().map(|s| Printed::text(s, EXIT_OK)),
        Command::Demo { credentials: true } => {
            demo::credentials().map(|s| Printed::text(s, EXIT_OK))
        }
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
                    let what = format!("{path}: invalid directory");
                    let dir = output::from_json(&what, &read(&path)?)?;
                    (dir, OffsetDateTime::now_utc())
                }
            };
            let input = read_input(file.as_deref())?;
            let (text, code) = authorize_cmd::run(&input, &dir, now, &policy, json)?;
            Ok(Printed { text, code, json })
        }
        Command::Policy {
            command:
                PolicyCommand::Matrix {
                    policy,
                    key_scopes,
                    json,
                },
        } => {
            let policy = load_policy(policy.as_deref())?;
            let scopes = match &key_scopes {
                Some(path) => policy_cmd::key_scopes(path, &read(path)?, &policy)?,
                None => Vec::new(),
            };
            policy_cmd::matrix(&policy, &scopes, json).map(|text| Printed {
                text,
                code: EXIT_OK,
                json,
            })
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => policy_cmd::check(&file, &read(&file)?).map(|s| Printed::text(s, EXIT_OK)),
        Command::Policy {
            command: PolicyCommand::Test { policy, cases },
        } => {
            let p = policy_cmd::load(&policy, &read(&policy)?)?;
            let (text, code) = policy_cmd::test(&p, &cases, &read(&cases)?)?;
            Ok(Printed::text(text, code))
        }
        Command::Policy {
            command:
                PolicyCommand::Diff {
                    before,
                    after,
                    key_scopes,
                    json,
                },
        } => {
            let before = policy_cmd::load(&before, &read(&before)?)?;
            let after = policy_cmd::load(&after, &read(&after)?)?;
            let scopes = match &key_scopes {
                Some(path) => policy_cmd::key_scopes(path, &read(path)?, &before)?,
                None => Vec::new(),
            };
            let (text, code) = policy_cmd::diff(&before, &after, &scopes, json);
            Ok(Printed { text, code, json })
        }
        Command::Header {
            command: BatchCommand::Parse,
        } => batch_run(batch::Kind::Header),
        Command::Challenge {
            command: BatchCommand::Parse,
        } => batch_run(batch::Kind::Challenge),
    }
}

fn batch_run(kind: batch::Kind) -> Result<Printed, String> {
    let stdout = std::io::stdout();
    match batch::run(
        kind,
        std::io::stdin().lock(),
        std::io::BufWriter::new(stdout.lock()),
    ) {
        Ok(()) => Ok(Printed {
            text: String::new(),
            code: EXIT_OK,
            json: true,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Printed {
            text: String::new(),
            code: EXIT_BAD_INPUT,
            json: true,
        }),
        Err(e) => Err(format!("i/o error: {e}")),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            // `--help` and `--version` are answers, not errors.
            let answer = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            let _ = e.print();
            return ExitCode::from(if answer { EXIT_OK } else { EXIT_USAGE });
        }
    };
    match run(cli) {
        Ok(printed) => match output::write_stdout(&output::safe(&printed.text, printed.json)) {
            Ok(()) => ExitCode::from(printed.code),
            // A reader that went away (`| head`): nothing left to say.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_BAD_INPUT),
            Err(e) => {
                output::write_stderr(&format!("cannot write the output: {e}"));
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
        Err(message) => {
            output::write_stderr(&message);
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
