//! `/fabric/api/api-keys`: list, create (optionally expiring), rotate, revoke, delete
//! — each in the company the request was authorised to act in, and no other.

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
use pw_auth_core::{
    ApiKeyId, AuditRecord, KeyLabel, KeyLifetime, KeyScope, MAX_KEY_LIFETIME_SECS, Policy, Quota,
    QuotaRepr, RotateError, RotationGrace, mint_api_key,
};
use zeroize::Zeroizing;

use super::bodies::{created_key_body, listed_key_json, maybe};
use super::{
    ApiError, App, Handled, client_of, invalid, is_json, json_body, json_response, not_found,
    read_body, secret_json,
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
        // Rotating mints a successor: the action that creates keys (and, like it,
        // only a person's under the default policy).
        .route(
            "/fabric/api/api-keys/{id}/rotate",
            post(rotate_key).route_layer(a.require("api-keys.create")?),
        )
        .route(
            "/fabric/api/api-keys/{id}",
            delete(delete_key).route_layer(a.require("api-keys.delete")?),
        ))
}

async fn list_keys(State(app): State<App>, ActingIn(company): ActingIn) -> Handled {
    let keys = app.store.records().keys_of(company).await?;
    let list: Vec<serde_json::Value> = keys
        .iter()
        .map(|(record, used)| listed_key_json(record, *used))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        serde_json::json!({ "data": list }).to_string(),
    ))
}

/// A key creation's body: its label, optional lifetime in days, optional scope and
/// optional quota of its own.
#[derive(serde::Deserialize)]
struct Create {
    label: Option<String>,
    expires_in_days: Option<u64>,
    scope: Option<serde_json::Value>,
    quota: Option<serde_json::Value>,
}

/// What a key creation asks for.
struct Creation {
    label: KeyLabel,
    lifetime: Option<KeyLifetime>,
    scope: Option<KeyScope>,
    quota: Option<Quota>,
}

/// The label, lifetime, scope and quota of a key creation's body (the scope checked
/// against `policy`; the quota is checked against the company's once the key is
/// minted), or the field at fault and its validation message.
fn creation_of(body: &[u8], policy: &Policy) -> Result<Creation, (&'static str, String)> {
    let parsed: Create = serde_json::from_slice(body)
        .map_err(|_| ("body", "the body must be a JSON object".to_owned()))?;
    let quota = match parsed.quota {
        None => None,
        Some(v) => {
            let repr: QuotaRepr = serde_json::from_value(v).map_err(|_| {
                (
                    "quota",
                    "the quota is an object of `limit`, `period_secs` and an optional `burst`"
                        .to_owned(),
                )
            })?;
            Some(Quota::try_from(repr).map_err(|e| ("quota", e.to_string()))?)
        }
    };
    let scope = match parsed.scope {
        None => None,
        Some(v) => {
            let scope: KeyScope = serde_json::from_value(v).map_err(|_| {
                (
                    "scope",
                    "the scope is an object of `actions`, `view` and `edit` lists".to_owned(),
                )
            })?;
            scope.check(policy).map_err(|e| ("scope", e.to_string()))?;
            Some(scope)
        }
    };
    let label = parsed
        .label
        .ok_or_else(|| ("label", "the label field is required".to_owned()))?;
    let label = KeyLabel::new(&label).map_err(|e| ("label", e.to_string()))?;
    let lifetime = match parsed.expires_in_days {
        None => None,
        Some(days) => Some(KeyLifetime::from_days(days).map_err(|_| {
            (
                "expires_in_days",
                format!("a key lives 1 to {} days", MAX_KEY_LIFETIME_SECS / 86_400),
            )
        })?),
    };
    Ok(Creation {
        label,
        lifetime,
        scope,
        quota,
    })
}

/// The grace period of a rotation's body (`{"grace_secs": …}`; none, or no body: a
/// day), or the validation message.
fn grace_of(body: &[u8]) -> Result<RotationGrace, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rotate {
        grace_secs: Option<u64>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RotationGrace::DAY);
    }
    let parsed: Rotate = serde_json::from_slice(body)
        .map_err(|_| "the body must be a JSON object with at most grace_secs".to_owned())?;
    match parsed.grace_secs {
        None => Ok(RotationGrace::DAY),
        Some(secs) => RotationGrace::from_secs(secs).map_err(|e| e.to_string()),
    }
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
    let body = json_body(&app, &headers, body, MAX_KEY_BODY_LEN).await?;
    let creation = creation_of(&body, flow.policy())
        .map_err(|(field, message)| invalid(&app, field, &message))?;
    let random = Zeroizing::new(app.random_bytes()?);
    let now = app.now();
    let internal = |e| StoreError::new(StoreErrorKind::Internal, "minting a key").caused_by(e);
    let mut minted = mint_api_key(&company, creation.label, &*random, now).map_err(internal)?;
    if let Some(scope) = creation.scope {
        minted = minted.scoped(scope);
    }
    if let Some(quota) = creation.quota {
        // Never looser than the company's own quota, at its tier now.
        // The guard found the company it acts in: gone now, the records are broken.
        let Some(info) = app.store.company(&company).await? else {
            return Err(StoreError::new(StoreErrorKind::Corrupt, "the company is missing").into());
        };
        minted = minted
            .limited(quota, &flow.policy().quota(info.tier))
            .map_err(|e| invalid(&app, "quota", &e.to_string()))?;
    }
    if let Some(lifetime) = creation.lifetime {
        minted = minted
            .expiring(lifetime)
            .map_err(|e| StoreError::new(StoreErrorKind::Internal, "minting a key").caused_by(e))?;
    }
    app.store
        .records()
        .add_key(minted.record.clone(), minted.user.clone())
        .await?;
    let client = client_of(&app.trusted, peer, &headers);
    let audit = AuditRecord::key_created(flow.policy(), &who, &minted.record.id, &company, now)
        .with_client(client.ip())
        .with_decision_id((app.decision_ids)(now));
    app.store.audit(&audit).await?;
    Ok(secret_json(
        StatusCode::CREATED,
        created_key_body(&minted.key, &minted.record, &[]),
    ))
}

/// `POST /fabric/api/api-keys/{id}/rotate`: a successor for the same api-user, shown
/// once (201, with `replaces` and the old key's `retires_at`); the old key works for
/// the grace period (`{"grace_secs": …}`, a day by default) and never after. 404 for
/// no such key in the company; 409 for one that cannot be rotated (revoked, rotated
/// already, expired).
async fn rotate_key(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let Ok(id) = ApiKeyId::new(&id) else {
        return Ok(not_found());
    };
    let flow = app.auth.flow();
    let responder = flow.responder();
    let body = read_body(&app, body, MAX_KEY_BODY_LEN)
        .await
        .map_err(|refused| ApiError::Answer(refused.into_response()))?;
    if !body.iter().all(u8::is_ascii_whitespace) && !is_json(&headers) {
        return Ok(outcome_response(&responder.unsupported_media_type()));
    }
    let grace = grace_of(&body).map_err(|message| invalid(&app, "grace_secs", &message))?;
    let random = Zeroizing::new(app.random_bytes()?);
    let now = app.now();
    let rotated = match app
        .store
        .records()
        .rotate_key(company.clone(), id, random, now, grace)
        .await?
    {
        None => return Ok(not_found()),
        Some(Err(
            e @ (RotateError::Revoked { .. }
            | RotateError::AlreadyRotated { .. }
            | RotateError::Ended { .. }),
        )) => {
            return Ok(json_response(
                StatusCode::CONFLICT,
                serde_json::json!({ "message": e.to_string() }).to_string(),
            ));
        }
        Some(Err(e)) => {
            return Err(StoreError::new(StoreErrorKind::Internal, "rotating a key")
                .caused_by(e)
                .into());
        }
        Some(Ok(rotated)) => rotated,
    };
    let client = client_of(&app.trusted, peer, &headers);
    let audit = AuditRecord::key_rotated(
        flow.policy(),
        &who,
        &rotated.record.id,
        &rotated.retired.id,
        &company,
        now,
    )
    .with_client(client.ip())
    .with_decision_id((app.decision_ids)(now));
    app.store.audit(&audit).await?;
    let retires_at = maybe(rotated.retired.retires_at);
    let extra = [
        ("replaces", serde_json::json!(rotated.retired.id)),
        ("replaced_key_retires_at", retires_at),
    ];
    Ok(secret_json(
        StatusCode::CREATED,
        created_key_body(&rotated.key, &rotated.record, &extra),
    ))
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
