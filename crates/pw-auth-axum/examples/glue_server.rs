//! The glue a user writes for an axum server on pw-auth: login, logout, creating an
//! API key, and guarded routes, on the in-memory store. Shown whole in docs/server.md.
#![allow(clippy::unwrap_used, reason = "an example")]

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Router, body::Bytes, extract::State, http::StatusCode, response::IntoResponse};
use pw_auth_axum::{ActingIn, Authenticated, MemoryStore, OutcomeResponse, PwAuth, UnknownAction};
use pw_auth_core::{ExpiresIn, KeyLabel, Policy, mint_api_key};
use pw_auth_http::{LoginServed, Responder, ServerFlow};

type Auth = PwAuth<MemoryStore>;

async fn login(State(auth): State<Auth>, body: Bytes) -> axum::response::Response {
    let (flow, now) = (auth.flow(), auth.now());
    let request = match flow.login_request(&body, now) {
        Ok(r) => r,
        Err(refused) => return OutcomeResponse(refused.outcome).into_response(),
    };
    // Your user lookup and password check (argon2 in the reference server).
    let (user, ok) = my_users::check(request.username(), request.password());
    let random = my_users::random();
    let Ok(served) = flow.login(user.as_ref(), ok, &random, ExpiresIn::DEFAULT, now) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    match served {
        LoginServed::Issued(issued) => {
            auth.store().add_token(issued.record().clone());
            (StatusCode::OK, issued.body().to_string()).into_response()
        }
        LoginServed::Refused(refusal) => OutcomeResponse(refusal.outcome).into_response(),
    }
}

async fn create_key(State(auth): State<Auth>, ActingIn(company): ActingIn) -> impl IntoResponse {
    let label = KeyLabel::new("integration").unwrap();
    let minted = mint_api_key(&company, label, &my_users::random(), auth.now()).unwrap();
    auth.store().add_minted(&minted);
    // Your body: the key is shown this once (the reference server also wipes its copies).
    let body = serde_json::json!({"id": minted.record.id, "key": minted.key.expose_secret()});
    (StatusCode::CREATED, body.to_string())
}

async fn deploy() -> &'static str {
    "deployed"
}

async fn flows(Authenticated(who): Authenticated) -> String {
    format!("the flows of {}", who.company())
}

/// The application: its routes, each guarded by the action it needs (an action the
/// policy does not define is an error here, not a route that denies every call).
pub(crate) fn app(store: MemoryStore) -> Result<Router, UnknownAction> {
    let responder = Responder::new("patchworks").unwrap();
    let auth = PwAuth::new(ServerFlow::new(Policy::default_policy(), responder), store);
    let need = |action| auth.require(action);
    let keys = post(create_key).route_layer(need("api-keys.create")?);
    let list = get(flows).route_layer(need("flows.view")?);
    let deploying = post(deploy).route_layer(need("flows.deploy")?);
    Ok(Router::new()
        .route("/fabric/api/login", post(login))
        .route("/fabric/api/api-keys", keys)
        .route("/fabric/api/flows", list)
        .route("/fabric/api/flows/{id}/deploy", deploying)
        .with_state(auth))
}

/// Stand-ins for the application's own user table and random source.
mod my_users {
    use pw_auth_core::{CompanyId, Password, Role, UserId, UserRecord};
    pub(crate) fn check(username: &str, password: &Password) -> (Option<UserRecord>, bool) {
        let ann = UserRecord::active(
            UserId::new("ann").unwrap(),
            CompanyId::new("acme").unwrap(),
            Role::Administrator,
        );
        (
            Some(ann).filter(|_| username == "ann"),
            password.expose_secret() == "demo",
        )
    }
    pub(crate) fn random() -> [u8; 16] {
        *b"use-a-real-rng!!"
    }
}

fn main() {
    let _ = Arc::new(app(MemoryStore::default()).unwrap());
}
