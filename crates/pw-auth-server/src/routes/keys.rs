//! `/fabric/api/api-keys`: list, create, revoke, delete — each in the company the
//! request was authorised to act in, and no other.

use axum::Router;
use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{
    ActingIn, AuthStore, Authenticated, StoreError, StoreErrorKind, UnknownAction,
    outcome_response, unavailable,
};
use pw_auth_core::{ApiKeyId, AuditRecord, KeyLabel, mint_api_key};
use pw_auth_http::{created_key_body, key_json};

use super::{App, client_of, is_json, json_response, not_found, read_body, secret_json};
use crate::config::MAX_KEY_BODY_LEN;
use crate::db::Records;

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    let a = &app.auth;
    Ok(Router::new()
        .route(
            "/fabric/api/api-keys",
            get(list_keys).route_layer(a.require("api-keys.list")?),
        )
        .route(
            "/fabric/api/api-keys",
            post(create_key).route_layer(a.require("api-keys.create")?),
        )
        .route(
            "/fabric/api/api-keys/{id}/revoke",
            post(revoke_key).route_layer(a.require("api-keys.revoke")?),
        )
        .route(
            "/fabric/api/api-keys/{id}",
            delete(delete_key).route_layer(a.require("api-keys.delete")?),
        ))
}

async fn list_keys(State(app): State<App>, ActingIn(company): ActingIn) -> Response {
    match app.store.records().keys_of(company).await {
        Ok(keys) => {
            let list: Vec<serde_json::Value> = keys.iter().map(key_json).collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({ "data": list }).to_string(),
            )
        }
        Err(e) => unavailable(e),
    }
}

/// The label of a key creation's body, or the validation message.
fn label_of(body: &[u8]) -> Result<KeyLabel, String> {
    #[derive(serde::Deserialize)]
    struct Create {
        label: Option<String>,
    }
    let parsed: Create =
        serde_json::from_slice(body).map_err(|_| "the body must be a JSON object".to_owned())?;
    let label = parsed
        .label
        .ok_or_else(|| "the label field is required".to_owned())?;
    KeyLabel::new(&label).map_err(|e| e.to_string())
}

async fn create_key(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let responder = app.auth.flow().responder();
    if !is_json(&headers) {
        return outcome_response(&responder.unsupported_media_type());
    }
    let body = match read_body(&app, body, MAX_KEY_BODY_LEN).await {
        Ok(b) => b,
        Err(refused) => return refused.into_response(),
    };
    let label = match label_of(&body) {
        Ok(l) => l,
        Err(message) => {
            let errors = std::collections::BTreeMap::from([("label".to_owned(), vec![message])]);
            return outcome_response(&responder.validation("The given data was invalid.", &errors));
        }
    };
    let random = match app.random_bytes() {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let now = app.now();
    let minted = match mint_api_key(&company, label, &random, now) {
        Ok(m) => m,
        Err(e) => {
            return unavailable(
                StoreError::new(StoreErrorKind::Internal, "minting a key").caused_by(e),
            );
        }
    };
    if let Err(e) = app
        .store
        .records()
        .add_key(minted.record.clone(), minted.user.clone())
        .await
    {
        return unavailable(e);
    }
    let client = client_of(&app.trusted, peer, &headers);
    let audit = AuditRecord::key_created(
        app.auth.flow().policy(),
        &who,
        &minted.record.id,
        &company,
        now,
    )
    .with_client(client.ip());
    if let Err(e) = app.store.audit(&audit).await {
        return unavailable(e);
    }
    secret_json(StatusCode::CREATED, created_key_body(&minted))
}

async fn revoke_key(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = ApiKeyId::new(&id) else {
        return not_found();
    };
    match app.store.records().revoke_key(company, id, app.now()).await {
        Ok(Some(true)) => json_response(StatusCode::OK, r#"{"message":"Revoked."}"#.to_owned()),
        Ok(Some(false)) => json_response(
            StatusCode::CONFLICT,
            r#"{"message":"The api key was already revoked."}"#.to_owned(),
        ),
        Ok(None) => not_found(),
        Err(e) => unavailable(e),
    }
}

async fn delete_key(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = ApiKeyId::new(&id) else {
        return not_found();
    };
    match app.store.records().delete_key(company, id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => not_found(),
        Err(e) => unavailable(e),
    }
}
