//! `/fabric/api/linked-companies/{company}/grants`: a parent company's administrator
//! gives a member access to a linked company (`POST`, `{"user", "until"?}`) and
//! withdraws it (`DELETE …/grants/{user}`), under the policy's
//! `linked-companies.grant` (the parent's administrator, in the parent, never an API
//! key). Each change audited (`grant_changed`); the next request sees it.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{delete, post};
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{ActingIn, AuthStore, Authenticated, UnknownAction};
use pw_auth_core::{AuditRecord, CompanyId, GrantChanged, Level, Principal, Role, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ApiError, App, Handled, invalid, json_body, json_response, not_found};
use crate::config::MAX_KEY_BODY_LEN;

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    let a = &app.auth;
    Ok(Router::new()
        .route(
            "/fabric/api/linked-companies/{company}/grants",
            post(give).route_layer(a.require("linked-companies.grant")?),
        )
        .route(
            "/fabric/api/linked-companies/{company}/grants/{user}",
            delete(withdraw).route_layer(a.require("linked-companies.grant")?),
        ))
}

/// A grant's body: the member, and when the grant ends (RFC 3339; none: never).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Give {
    user: String,
    until: Option<String>,
}

/// `linked`, if it names a company linked to `parent`; 404 otherwise (no company,
/// or another's: nobody learns which).
async fn linked_to(app: &App, parent: &CompanyId, linked: &str) -> Result<CompanyId, ApiError> {
    let Ok(linked) = CompanyId::new(linked) else {
        return Err(ApiError::Answer(not_found()));
    };
    match app.store.company(&linked).await? {
        Some(info) if info.parent.as_ref() == Some(parent) => Ok(linked),
        _ => Err(ApiError::Answer(not_found())),
    }
}

/// Keeps the audit record of a grant change.
async fn audit(
    app: &App,
    who: &Principal,
    parent: &CompanyId,
    change: GrantChanged,
) -> Result<(), ApiError> {
    let now = app.now();
    let record = AuditRecord::grant_changed(app.auth.flow().policy(), who, parent, change, now)
        .with_decision_id((app.decision_ids)(now));
    Ok(app.store.audit(&record).await?)
}

/// `POST /fabric/api/linked-companies/{company}/grants`: `{"user", "until"?}` → 200
/// `{"user", "linked_company", "until"}` (a grant held already gets the new end).
/// 404 for a company not linked to the caller's; 422 for a member who is not one of
/// the company's managers or administrators (a grant lets nobody else act in a
/// linked company), or an end that is not a future RFC 3339 time.
async fn give(
    State(app): State<App>,
    ActingIn(parent): ActingIn,
    Authenticated(who): Authenticated,
    Path(linked): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let body = json_body(&app, &headers, body, MAX_KEY_BODY_LEN).await?;
    let linked = linked_to(&app, &parent, &linked).await?;
    let give: Give = serde_json::from_slice(&body).map_err(|_| {
        invalid(
            &app,
            "body",
            "the body is a JSON object of `user` and an optional `until`",
        )
    })?;
    let member = match UserId::new(&give.user) {
        Ok(id) => app.store.records().user_of(parent.clone(), id).await?,
        Err(_) => None,
    };
    let Some(member) = member else {
        return Err(invalid(
            &app,
            "user",
            "no member of the company has this id",
        ));
    };
    if member.role == Role::ApiUser || member.role.level() < Level::Manager {
        return Err(invalid(
            &app,
            "user",
            "a grant lets a manager or an administrator act in a linked company; this member is neither",
        ));
    }
    let now = app.now();
    let until = match &give.until {
        None => None,
        Some(text) => match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(at) if at > now => Some(at),
            _ => {
                return Err(invalid(
                    &app,
                    "until",
                    "must be a future RFC 3339 time, e.g. 2027-01-31T18:00:00Z",
                ));
            }
        },
    };
    app.store
        .records()
        .grant(member.id.clone(), linked.clone(), until)
        .await?;
    let change = GrantChanged {
        user: member.id.clone(),
        linked_company: linked.clone(),
        given: true,
        until,
    };
    audit(&app, &who, &parent, change).await?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::json!({
            "user": member.id,
            "linked_company": linked,
            "until": super::bodies::maybe(until),
        })
        .to_string(),
    ))
}

/// `DELETE /fabric/api/linked-companies/{company}/grants/{user}`: 204; 404 for a
/// company not linked to the caller's, or a member holding no grant for it. The
/// member's next request in the linked company is refused.
async fn withdraw(
    State(app): State<App>,
    ActingIn(parent): ActingIn,
    Authenticated(who): Authenticated,
    Path((linked, user)): Path<(String, String)>,
) -> Handled {
    let linked = linked_to(&app, &parent, &linked).await?;
    let member = match UserId::new(&user) {
        Ok(id) => app.store.records().user_of(parent.clone(), id).await?,
        Err(_) => None,
    };
    let Some(member) = member else {
        return Ok(not_found());
    };
    if !app
        .store
        .records()
        .withdraw_grant(member.id.clone(), linked.clone())
        .await?
    {
        return Ok(not_found());
    }
    let change = GrantChanged {
        user: member.id,
        linked_company: linked,
        given: false,
        until: None,
    };
    audit(&app, &who, &parent, change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
