//! `/fabric/api/api-keys`: list, create, revoke, delete — each in the company the
//! request was authorised to act in, and no other.

use axum::Router;
use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{
    ActingIn, AuthStore, Authenticated, StoreError, StoreErrorKind, UnknownAction, outcome_response,
};
use pw_auth_core::{ApiKeyId, AuditRecord, KeyLabel, mint_api_key};

use super::bodies::{created_key_body, key_json};
use super::{
    ApiError, App, Handled, client_of, is_json, json_response, not_found, read_body, secret_json,
};
use crate::config::MAX_KEY_BODY_LEN;

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

async fn list_keys(State(app): State<App>, ActingIn(company): ActingIn) -> Handled {
    let keys = app.store.records().keys_of(company).await?;
    let list: Vec<serde_json::Value> = keys.iter().map(key_json).collect();
    Ok(json_response(
        StatusCode::OK,
        serde_json::json!({ "data": list }).to_string(),
    ))
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
) -> Handled {
    let flow = app.auth.flow();
    let responder = flow.responder();
    if !is_json(&headers) {
        return Ok(outcome_response(&responder.unsupported_media_type()));
    }
    let body = read_body(&app, body, MAX_KEY_BODY_LEN)
        .await
        .map_err(|refused| ApiError::Answer(refused.into_response()))?;
    let label = label_of(&body).map_err(|message| {
        let errors = std::collections::BTreeMap::from([("label".to_owned(), vec![message])]);
        ApiError::Answer(outcome_response(
            &responder.validation("The given data was invalid.", &errors),
        ))
    })?;
    let random = app.random_bytes()?;
    let now = app.now();
    let minted = mint_api_key(&company, label, &random, now)
        .map_err(|e| StoreError::new(StoreErrorKind::Internal, "minting a key").caused_by(e))?;
    app.store
        .records()
        .add_key(minted.record.clone(), minted.user.clone())
        .await?;
    let client = client_of(&app.trusted, peer, &headers);
    let audit = AuditRecord::key_created(flow.policy(), &who, &minted.record.id, &company, now)
        .with_client(client.ip())
        .with_decision_id((app.decision_ids)(now));
    app.store.audit(&audit).await?;
    Ok(secret_json(StatusCode::CREATED, created_key_body(&minted)))
}

async fn revoke_key(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Path(id): Path<String>,
) -> Handled {
    let Ok(id) = ApiKeyId::new(&id) else {
        return Ok(not_found());
    };
    Ok(
        match app
            .store
            .records()
            .revoke_key(company, id, app.now())
            .await?
        {
            Some(true) => json_response(StatusCode::OK, r#"{"message":"Revoked."}"#.to_owned()),
            Some(false) => json_response(
                StatusCode::CONFLICT,
                r#"{"message":"The api key was already revoked."}"#.to_owned(),
            ),
            None => not_found(),
        },
    )
}

async fn delete_key(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Path(id): Path<String>,
) -> Handled {
    let Ok(id) = ApiKeyId::new(&id) else {
        return Ok(not_found());
    };
    Ok(if app.store.records().delete_key(company, id).await? {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    })
}
