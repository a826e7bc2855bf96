//! The policy from a file, and reloading it: on `SIGHUP`, or through
//! [`Running::reload_policy`](crate::Running::reload_policy).
//!
//! A reload reads and compiles the file, then replaces the guard's flow whole, so
//! that from the next request on every decision, answer and audit record uses (and
//! names) the new policy. A file that cannot be read, a policy that fails to compile
//! (its error located by line and column), or one that drops an action a route is
//! guarded by, changes nothing: the running policy stays, and the error is logged.

use std::path::{Path, PathBuf};

use pw_auth_axum::{PwAuth, UnknownAction};
use pw_auth_core::{MAX_POLICY_LEN, Policy, PolicyError, Quota};
use pw_auth_http::{Responder, ServerFlow};
use tokio::io::AsyncReadExt;

use crate::store::Store;

/// Why a policy file could not be loaded. The running policy, if any, is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyFileError {
    /// The file could not be read.
    #[error("cannot read the policy file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The policy does not compile: the error names its line and column.
    #[error("the policy file {} is refused: {source}", path.display())]
    Policy {
        /// The file.
        path: PathBuf,
        /// The located error.
        #[source]
        source: PolicyError,
    },
    /// The policy lacks an action that a route is guarded by.
    #[error("the policy file {} is refused: {source}", path.display())]
    Route {
        /// The file.
        path: PathBuf,
        /// The action missing.
        #[source]
        source: UnknownAction,
    },
    /// The server was not started with a policy file.
    #[error("the server was not started with a policy file")]
    NoFile,
}

/// Reads and compiles the policy at `path` (at most [`MAX_POLICY_LEN`] bytes).
pub(crate) async fn read_policy(path: &Path) -> Result<Policy, PolicyFileError> {
    let read = |source| PolicyFileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(read)?;
    let mut text = String::new();
    // One byte past the cap, so that a longer file is refused by the compiler's
    // own length check rather than read whole.
    let cap = u64::try_from(MAX_POLICY_LEN)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(cap)
        .read_to_string(&mut text)
        .await
        .map_err(read)?;
    Policy::from_json(&text).map_err(|source| PolicyFileError::Policy {
        path: path.to_owned(),
        source,
    })
}

/// How the server builds its flow from a policy: the same for the first and for
/// every reloaded one.
#[derive(Clone)]
pub(crate) struct FlowRecipe {
    pub(crate) responder: Responder,
    pub(crate) failure_quota: Quota,
    pub(crate) username_ceiling: Quota,
    pub(crate) legacy_limit_headers: bool,
}

impl FlowRecipe {
    pub(crate) fn flow(&self, policy: Policy) -> ServerFlow {
        ServerFlow::new(policy, self.responder.clone())
            .with_failure_quota(self.failure_quota)
            .with_username_ceiling(self.username_ceiling)
            .with_legacy_limit_headers(self.legacy_limit_headers)
    }
}

/// What a reload needs: the file, the recipe and the guard whose flow it replaces.
#[derive(Clone)]
pub(crate) struct Reloader {
    pub(crate) path: Option<PathBuf>,
    pub(crate) recipe: FlowRecipe,
    pub(crate) auth: PwAuth<Store>,
}

impl Reloader {
    /// Reloads the file: the new policy's id on success; on failure the running
    /// policy stays. Either way it is logged.
    pub(crate) async fn reload(&self) -> Result<String, PolicyFileError> {
        let result = self.try_reload().await;
        match &result {
            Ok(id) => tracing::info!(policy = id.as_str(), "policy reloaded"),
            Err(e) => tracing::error!(
                error = %crate::Chain(e),
                running = self.auth.flow().policy().id(),
                "policy reload refused; the running policy is kept"
            ),
        }
        result
    }

    async fn try_reload(&self) -> Result<String, PolicyFileError> {
        let path = self.path.as_deref().ok_or(PolicyFileError::NoFile)?;
        let policy = read_policy(path).await?;
        let id = policy.id().to_owned();
        self.auth
            .replace_flow(self.recipe.flow(policy))
            .map_err(|source| PolicyFileError::Route {
                path: path.to_owned(),
                source,
            })?;
        Ok(id)
    }

    /// Reloads on every `SIGHUP`, until the task is aborted.
    pub(crate) fn on_hangup(self) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        Ok(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                // Logged either way; a refused file leaves the running policy.
                let _ = self.reload().await;
            }
        }))
    }
}
