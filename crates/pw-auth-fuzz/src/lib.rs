//! # pw-auth-fuzz
//!
//! The fuzz harness of pw-auth: one function per target, each with real oracles, not
//! just "does not panic". The same functions are driven three ways:
//!
//! * by libFuzzer, through the thin targets in the repository's `fuzz/` project;
//! * by `cargo test`, over every file of `fuzz/corpus/<target>/` and
//!   `fuzz/regressions/<target>/` (see [`run`]);
//! * by proptest, with random input, in this crate's tests.
//!
//! A harness returns `Err(Violation)` when a law is broken; the fuzz target turns
//! that into a crash. Malformed input is never a violation: every parser must refuse
//! it with an error, and that is checked too.

#![forbid(unsafe_code)]

mod decisions;
mod lifetimes;
mod limiter;
pub mod model;
mod parsers;
mod policy;
mod server_flow;
mod session;

pub use decisions::{ActionChoice, DecisionInput, OwnRole, decisions, decisions_bytes};
pub use lifetimes::{LifetimeInput, lifetimes, lifetimes_bytes};
pub use limiter::{LimiterInput, limiter, limiter_bytes};
pub use parsers::{authorization, login, www_authenticate};
pub use policy::policy;
pub use server_flow::{Line, ServerFlowInput, server_flow, server_flow_bytes};
pub use session::{SessionEvent, SessionInput, session, session_bytes};

/// A broken law, with what broke it (never a secret: harness inputs are fuzz data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a harness returns.
pub type Checked = Result<(), Violation>;

/// Fails with `msg` unless `ok`.
pub(crate) fn ensure(ok: bool, msg: impl FnOnce() -> String) -> Checked {
    if ok { Ok(()) } else { Err(Violation(msg())) }
}

/// Every target's name, as used for `fuzz/corpus/<target>/`.
pub const TARGETS: [&str; 9] = [
    "authorization",
    "www_authenticate",
    "login",
    "policy",
    "decisions",
    "lifetimes",
    "session",
    "limiter",
    "server_flow",
];

/// Runs the harness of `target` on raw bytes (structured targets decode them with
/// `arbitrary`). `None` for an unknown target name.
pub fn run(target: &str, data: &[u8]) -> Option<Checked> {
    Some(match target {
        "authorization" => authorization(data),
        "www_authenticate" => www_authenticate(data),
        "login" => login(data),
        "policy" => policy(data),
        "decisions" => decisions_bytes(data),
        "lifetimes" => lifetimes_bytes(data),
        "session" => session_bytes(data),
        "limiter" => limiter_bytes(data),
        "server_flow" => server_flow_bytes(data),
        _ => return None,
    })
}
