//! The reference server's tests over real loopback connections, in one binary: each
//! test starts its own server on 127.0.0.1:0 on records of its own (a private SQLite
//! file, or a PostgreSQL and a Redis that `services` starts on loopback from the
//! distribution's packages), from one [`fixture`]. Every loop is bounded in count,
//! every wait in time.
//!
//! - `loopback`: the platform's flows through the reqwest adapter, on both stores;
//! - `hostile`: each finding of the hostile-load review, performed and shown to fail;
//! - `scale_out`: two servers sharing one PostgreSQL and one Redis;
//! - `tls`: PostgreSQL and Redis over TLS, verified;
//! - `soak`: a bounded soak with a locked database and a restart;
//! - `exact`: what the fast path (group commit, records and budgets in memory) keeps;
//! - `observe`: `/metrics` through the reference parser, health, readiness, request ids;
//! - `reload`: the policy from a file, reloaded on SIGHUP;
//! - `audit_log`: the audit log read back, paged, filtered, one company at a time;
//! - `users`: user administration by the policy and the platform's role rules.
//!
//! (The memory checks are binaries of their own: each replaces the global allocator.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failing unwrap is a failing test"
)]

/// Each named test, once on SQLite and once on PostgreSQL.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

mod audit_log;
mod exact;
mod fixture;
mod gateway;
mod grants;
mod hostile;
mod key_limits;
mod keys;
mod loopback;
mod oauth;
mod oauth_python;
mod observe;
mod openapi;
mod reload;
mod roles;
mod scale_out;
mod services;
mod soak;
#[path = "../support/temp_dir.rs"]
mod temp_dir;
mod tls;
mod users;
