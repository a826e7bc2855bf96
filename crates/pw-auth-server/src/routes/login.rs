//! `POST /fabric/api/login` and `POST /fabric/api/logout`.
//!
//! A login is reserved against its failure budgets before its password is verified
//! (one atomic update of the client's, the username-from-this-client's and the
//! username's budgets), verified on the bounded hashing pool, and its reservation
//! given back only if it issued a token: so however many attempts arrive at once, no
//! more passwords are verified than the quota allows.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{
    AuthStore, Authenticated, StoreError, StoreErrorKind, UnknownAction, decided, outcome_response,
};
use pw_auth_core::{AuditRecord, AuthMethod, LimitState, LoginResult, Password};
use pw_auth_http::{ClientAddr, LoginBudgets, LoginServed, MAX_LOGIN_BODY_LEN, ServerFlow};
use time::OffsetDateTime;

use super::{App, Handled, client_of, is_json, json_response, read_body, secret_json};
use crate::hashing::PoolFull;
use crate::wipe::{Wipes, wipe};

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    Ok(Router::new().route("/fabric/api/login", post(login)).route(
        "/fabric/api/logout",
        post(logout).route_layer(app.auth.require("company.view")?),
    ))
}

/// The failure budgets of a login, in [`LoginBudgets`]' order: the client, the
/// username from that client, and the username. The username is only ever a digest
/// (people type passwords into the username field).
fn login_keys(username: &str, client: ClientAddr) -> Vec<String> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(username.as_bytes());
    let mut user = String::with_capacity(5 + 64);
    user.push_str("user:");
    for b in digest {
        for nibble in [b >> 4, b & 0x0f] {
            user.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    let client = client.key();
    let pair = format!("{user}@{client}");
    vec![client, pair, user]
}

/// Runs `step` on the login's three budgets inside the store's atomic update.
async fn on_budgets<R>(
    app: &App,
    keys: Vec<String>,
    refused: R,
    step: impl Fn(&ServerFlow, &mut LoginBudgets) -> R + Send + Sync + 'static,
) -> Result<R, StoreError>
where
    R: Clone + Send + 'static,
{
    let flow = app.auth.flow();
    app.store
        .with_failures(keys, move |states: &mut [LimitState]| {
            match LoginBudgets::from_states(states) {
                Some(mut budgets) => {
                    let r = step(&flow, &mut budgets);
                    budgets.store_into(states);
                    r
                }
                // A store that hands back the wrong states: refuse.
                None => refused.clone(),
            }
        })
        .await
}

/// Gives a reservation back: the attempt did not count (its password was right, or
/// it was never verified).
async fn release(app: &App, keys: Vec<String>, now: OffsetDateTime) -> Result<(), StoreError> {
    on_budgets(app, keys, (), move |flow, b| flow.release_login(b, now)).await
}

/// Keeps `audit` (with the client's address) under a decision id of its own, then
/// answers `response`, which carries the id (`X-Decision-Id`) and the verdict.
pub(super) async fn audited(app: &App, audit: AuditRecord, mut response: Response) -> Handled {
    let id = (app.decision_ids)(audit.time);
    let audit = audit.with_decision_id(id);
    app.store.audit(&audit).await?;
    decided(&mut response, &audit);
    Ok(response)
}

/// A login route's request, before its body is parsed: when it came, from whom.
pub(super) struct Arrived {
    pub(super) now: OffsetDateTime,
    pub(super) client: ClientAddr,
}

impl Arrived {
    pub(super) fn new(app: &App, peer: SocketAddr, headers: &HeaderMap) -> Arrived {
        Arrived {
            now: app.now(),
            client: client_of(&app.trusted, peer, headers),
        }
    }

    /// The audit record of a login refused for its body.
    pub(super) fn malformed(&self, app: &App) -> AuditRecord {
        AuditRecord::login(
            app.auth.flow().policy(),
            LoginResult::MalformedBody,
            None,
            self.now,
        )
        .with_client(self.client.ip())
    }

    /// The body, if the route takes its type (`of_type`, else `wrong_type` is the
    /// answer) and it arrives whole within the login's cap and time; or the refusal,
    /// audited and answered.
    pub(super) async fn body(
        &self,
        app: &App,
        body: Body,
        of_type: bool,
        wrong_type: impl FnOnce() -> Response,
    ) -> Result<axum::body::Bytes, Handled> {
        if !of_type {
            return Err(audited(app, self.malformed(app), wrong_type()).await);
        }
        match read_body(app, body, MAX_LOGIN_BODY_LEN).await {
            Ok(b) => Ok(b),
            Err(refused) => Err(audited(app, self.malformed(app), refused.into_response()).await),
        }
    }
}

async fn login(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let arrived = Arrived::new(&app, peer, &headers);
    let (now, client) = (arrived.now, arrived.client);
    let flow = app.auth.flow();
    // Only JSON: a browser's cross-site "simple" form post cannot log in.
    let wrong_type = || outcome_response(&flow.responder().unsupported_media_type());
    let body = match arrived
        .body(&app, body, is_json(&headers), wrong_type)
        .await
    {
        Ok(b) => b,
        Err(answered) => return answered,
    };
    let parsed = flow.login_request(&body, now);
    wipe(body, wipes.as_deref().map(|w| &**w));
    let request = match parsed {
        Ok(r) => r,
        Err(refused) => {
            let audit = refused.audit.with_client(client.ip());
            return audited(&app, audit, outcome_response(&refused.outcome)).await;
        }
    };
    let (audit, attempt) = attempt(&app, request, client, now).await?;
    let response = match attempt {
        Attempt::Throttled(refused) | Attempt::Refused(refused) => {
            outcome_response(&refused.outcome)
        }
        Attempt::Issued(issued) => secret_json(StatusCode::OK, issued.body()),
    };
    audited(&app, audit, response).await
}

/// How a login attempt went.
pub(super) enum Attempt {
    /// Refused unverified: the client or the username failed too often.
    Throttled(Box<pw_auth_http::Refused>),
    /// Refused: unknown user, wrong password, disabled user or api-user alike.
    Refused(Box<pw_auth_http::Refused>),
    /// A token, its record stored.
    Issued(Box<pw_auth_http::Issued>),
}

/// A username and password checked: reserved against the failure budgets, the
/// password verified on the bounded pool. Throttled (unverified), or the user found
/// (if any) and whether the password matched, with the budget keys the reservation
/// holds.
enum Checked {
    Throttled(AuditRecord, Box<pw_auth_http::Refused>),
    Verified {
        user: Option<pw_auth_core::UserRecord>,
        ok: bool,
        keys: Vec<String>,
    },
}

async fn check(
    app: &App,
    request: pw_auth_http::LoginRequest,
    client: ClientAddr,
    now: OffsetDateTime,
) -> Result<Checked, super::ApiError> {
    let flow = app.auth.flow();
    let keys = login_keys(request.username(), client);
    let busy = Some(std::time::Duration::from_secs(1));
    let reserved = on_budgets(app, keys.clone(), busy, move |flow, b| {
        flow.reserve_login(b, now)
    })
    .await;
    if let Some(wait) = reserved? {
        let refused = flow.login_throttled(wait, now);
        let audit = refused.audit.clone().with_client(client.ip());
        return Ok(Checked::Throttled(audit, refused));
    }
    let found = app
        .store
        .records()
        .login_user(request.username().to_owned())
        .await?;
    let hash: Arc<str> = found.as_ref().map_or_else(
        || Arc::clone(&app.dummy_hash),
        |(_, h)| Arc::from(h.as_str()),
    );
    let password: Password = request.password().clone();
    drop(request);
    let ok = match app.hashing.verify(password, hash).await {
        Ok(v) => v,
        Err(PoolFull) => {
            // Never verified: the attempt does not count against anyone.
            release(app, keys, now).await?;
            return Err(
                StoreError::new(StoreErrorKind::Busy, "the password hashing pool is full").into(),
            );
        }
    };
    Ok(Checked::Verified {
        user: found.map(|(u, _)| u),
        ok,
        keys,
    })
}

/// A login attempt with `request` from `client`, whatever the route's body looked
/// like: reserved against its failure budgets, its password verified on the bounded
/// pool, a token issued (and its record stored) or the attempt refused. The audit
/// record to keep, with the client's address, and how it went.
pub(super) async fn attempt(
    app: &App,
    request: pw_auth_http::LoginRequest,
    client: ClientAddr,
    now: OffsetDateTime,
) -> Result<(AuditRecord, Attempt), super::ApiError> {
    let flow = app.auth.flow();
    let (user, verified, keys) = match check(app, request, client, now).await? {
        Checked::Throttled(audit, refused) => return Ok((audit, Attempt::Throttled(refused))),
        Checked::Verified { user, ok, keys } => (user, ok, keys),
    };
    let random = app.random_bytes()?;
    let served = flow
        .login(user.as_ref(), verified, &random, app.expires_in, now)
        .map_err(|e| StoreError::new(StoreErrorKind::Internal, "issuing a token").caused_by(e))?;
    let audit = served.audit().clone().with_client(client.ip());
    let attempt = match served {
        LoginServed::Issued(issued) => {
            app.store
                .records()
                .add_token(issued.record().clone())
                .await?;
            // A right password is not a failure: its reservation goes back.
            release(app, keys, now).await?;
            Attempt::Issued(issued)
        }
        LoginServed::Refused(refusal) => Attempt::Refused(refusal),
    };
    Ok((audit, attempt))
}

/// How a client's authentication by username and password went, at an endpoint
/// that issues nothing (the OAuth 2.0 revocation and introspection endpoints).
pub(super) enum ClientCheck {
    /// Refused unverified: the client or the username failed too often; the audit
    /// record to keep.
    Throttled(AuditRecord, Box<pw_auth_http::Refused>),
    /// Refused as a login is (its audit record, a login's, to keep).
    Refused(AuditRecord),
    /// The user the client is.
    Verified(pw_auth_core::UserRecord),
}

/// The client of such an endpoint authenticated with `request` as a login is — the
/// same failure budgets, the same bounded pool — without a token. A refusal comes
/// with its audit record (with the client's address) to keep.
pub(super) async fn authenticate_client(
    app: &App,
    request: pw_auth_http::LoginRequest,
    client: ClientAddr,
    now: OffsetDateTime,
) -> Result<ClientCheck, super::ApiError> {
    let (user, ok, keys) = match check(app, request, client, now).await? {
        Checked::Throttled(audit, refused) => return Ok(ClientCheck::Throttled(audit, refused)),
        Checked::Verified { user, ok, keys } => (user, ok, keys),
    };
    match app.auth.flow().authenticate_client(user.as_ref(), ok, now) {
        Ok(user) => {
            let user = user.clone();
            // A right password is not a failure: its reservation goes back.
            release(app, keys, now).await?;
            Ok(ClientCheck::Verified(user))
        }
        Err(refused) => Ok(ClientCheck::Refused(refused.audit.with_client(client.ip()))),
    }
}

async fn logout(
    State(app): State<App>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
) -> Handled {
    if !matches!(who.method(), AuthMethod::Bearer { .. }) {
        return Ok(json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"message":"An api key is revoked through the api-keys endpoints."}"#.to_owned(),
        ));
    }
    let Ok(Some(pw_auth_core::CredentialRef::Bearer(token))) =
        pw_auth_http::credential_ref_from_headers(&headers)
    else {
        return Err(StoreError::new(
            StoreErrorKind::Internal,
            "a bearer principal without its token",
        )
        .into());
    };
    app.store
        .records()
        .revoke_token(token.digest(), app.now())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// The keys of a login: the client, the username from it, the username — and the
    /// username only as its SHA-256 (checked against a digest computed apart).
    #[test]
    fn login_keys_name_the_client_and_only_a_digest_of_the_username() {
        let client = ClientAddr::new("192.0.2.1".parse().unwrap());
        let keys = login_keys("ann@acme.example", client);
        // printf 'ann@acme.example' | sha256sum
        let digest = "user:b759382850d65342f8994576b7d68f610381856dc6f89887b4474a2dbfbe8bd7";
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0], "client:192.0.2.1");
        assert_eq!(keys[2], digest);
        assert_eq!(keys[1], format!("{}@client:192.0.2.1", keys[2]));
        assert!(keys.iter().all(|k| !k.contains("ann")));
    }
}
