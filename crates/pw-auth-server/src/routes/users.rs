//! `/fabric/api/users`: a company's people — list, search, create (users and
//! read-only users; managers apart), change a role by the platform's role rules, and
//! disable or enable — each in the company the request was authorised to act in.
//!
//! Every route is guarded by its own action of the policy; what a request does to a
//! user is audited besides (`user_changed`), and so is a role change the role rules
//! refuse. Administrators are never made here: only platform support makes them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{
    ActingIn, AuthStore, Authenticated, StoreError, StoreErrorKind, UnknownAction, outcome_response,
};
use pw_auth_core::{
    AuditRecord, CompanyId, Password, Principal, Role, RoleChange, UserChange, UserChanged, UserId,
    UserRecord, UserStatus, authorize_role_change,
};

use super::{
    ApiError, App, Handled, invalid, is_json, json_body, json_response, not_found, read_body,
};
use crate::db::LoginUpdated;
use crate::hashing::PoolFull;
use crate::wipe::{Wipes, wipe};

/// The largest body a user creation or role change is read up to: 4 KiB.
const MAX_USER_BODY_LEN: usize = 4 * 1024;
/// The shortest password a new user may have (NIST SP 800-63B's floor).
const MIN_PASSWORD_LEN: usize = 8;

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    let a = &app.auth;
    Ok(Router::new()
        .route(
            "/fabric/api/users",
            get(list).route_layer(a.require("users.view")?),
        )
        .route(
            "/fabric/api/users",
            post(create_route::<Users>).route_layer(a.require(Users::ACTION)?),
        )
        .route(
            "/fabric/api/users/search",
            get(search).route_layer(a.require("users.search")?),
        )
        .route(
            "/fabric/api/users/managers",
            post(create_route::<Managers>).route_layer(a.require(Managers::ACTION)?),
        )
        .route(
            "/fabric/api/users/{id}",
            patch(update).route_layer(a.require("users.update")?),
        )
        .route(
            "/fabric/api/users/{id}/role",
            post(change_role).route_layer(a.require("users.update")?),
        )
        .route(
            "/fabric/api/users/{id}/disable",
            post(disable).route_layer(a.require("users.update")?),
        )
        .route(
            "/fabric/api/users/{id}/enable",
            post(enable).route_layer(a.require("users.update")?),
        ))
}

/// A person as listed: never a password or its hash.
pub(super) fn user_json(user: &UserRecord, username: Option<&str>) -> serde_json::Value {
    let status = match user.status {
        UserStatus::Active => "active",
        UserStatus::Disabled => "disabled",
    };
    serde_json::json!({
        "id": user.id.as_str(),
        "username": username,
        "role": user.role.as_str(),
        "status": status,
        "custom_role": user.custom_role.as_ref().map(|c| c.as_str()),
    })
}

/// The company's people (its api-users belong to their keys and are listed there).
async fn people(
    app: &App,
    company: CompanyId,
) -> Result<Vec<(UserRecord, Option<String>)>, StoreError> {
    let mut users = app.store.records().users_of(company).await?;
    users.retain(|(u, _)| u.role != Role::ApiUser);
    Ok(users)
}

async fn list(State(app): State<App>, ActingIn(company): ActingIn) -> Handled {
    let users = people(&app, company).await?;
    Ok(listing(users.iter()))
}

/// `{"data": [user, …]}`, 200.
fn listing<'a>(users: impl Iterator<Item = &'a (UserRecord, Option<String>)>) -> Response {
    let data: Vec<_> = users.map(|(u, n)| user_json(u, n.as_deref())).collect();
    json_response(
        StatusCode::OK,
        serde_json::json!({ "data": data }).to_string(),
    )
}

async fn search(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Query(params): Query<HashMap<String, String>>,
) -> Handled {
    let q = match params.get("q").map(|q| q.trim().to_lowercase()) {
        Some(q) if (1..=100).contains(&q.chars().count()) => q,
        _ => return Err(invalid(&app, "q", "must be 1 to 100 characters")),
    };
    let users = people(&app, company).await?;
    Ok(listing(users.iter().filter(|(u, n)| {
        u.id.as_str().to_lowercase().contains(&q)
            || n.as_deref().is_some_and(|n| n.to_lowercase().contains(&q))
    })))
}

/// A user creation's body.
struct NewUser {
    id: UserId,
    username: String,
    password: Password,
    role: Option<Role>,
}

/// A new password, of [`MIN_PASSWORD_LEN`] characters at least: the field and message
/// of the error otherwise.
fn new_password(text: Cow<'_, str>) -> Result<Password, (&'static str, String)> {
    let password = Password::new(text.into_owned()).map_err(|e| ("password", e.to_string()))?;
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err((
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(password)
}

/// A username is 3 to 254 characters, none of them a space or a control character.
fn check_username(username: &str) -> Result<(), (&'static str, String)> {
    if !(3..=254).contains(&username.chars().count())
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err((
            "username",
            "must be 3 to 254 characters, no spaces".to_owned(),
        ));
    }
    Ok(())
}

/// Parses a user creation's body: the field and message of the first error.
fn new_user(body: &[u8]) -> Result<NewUser, (&'static str, String)> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body<'a> {
        id: Option<String>,
        username: Option<String>,
        // Borrowed from the body when it has no escapes: the one copy is the
        // `Password`, wiped when dropped.
        #[serde(borrow)]
        password: Option<Cow<'a, str>>,
        role: Option<String>,
    }
    let b: Body<'_> = serde_json::from_slice(body).map_err(|_| {
        (
            "body",
            "must be a JSON object with id, username and password".to_owned(),
        )
    })?;
    let password = new_password(b.password.ok_or(("password", "is required".to_owned()))?)?;
    let id = UserId::new(b.id.as_deref().ok_or(("id", "is required".to_owned()))?)
        .map_err(|e| ("id", e.to_string()))?;
    let username = b.username.ok_or(("username", "is required".to_owned()))?;
    check_username(&username)?;
    if password.expose_secret() == username {
        return Err(("password", "must not be the username".to_owned()));
    }
    let role = match b.role.as_deref() {
        None => None,
        Some(r) => Some(
            r.parse::<Role>()
                .map_err(|_| ("role", format!("`{}` is not a role", r.escape_debug())))?,
        ),
    };
    Ok(NewUser {
        id,
        username,
        password,
        role,
    })
}

/// Keeps `change`, made by `who` through `action`, in the audit log under a
/// decision id of its own.
async fn audit_change(
    app: &App,
    who: &Principal,
    action: &str,
    company: &CompanyId,
    change: UserChanged,
) -> Result<(), StoreError> {
    let now = app.now();
    let flow = app.auth.flow();
    let record = AuditRecord::user_changed(flow.policy(), who, action, company, change, now)
        .with_decision_id((app.decision_ids)(now));
    app.store.audit(&record).await
}

/// `password`'s hash, from the bounded hashing pool (503 when it is full).
async fn hash(app: &App, password: Password) -> Result<String, ApiError> {
    match app.hashing.hash(password).await {
        Ok(Some(hash)) => Ok(hash),
        Ok(None) => Err(StoreError::new(StoreErrorKind::Internal, "hashing a password").into()),
        Err(PoolFull) => {
            Err(StoreError::new(StoreErrorKind::Busy, "the password hashing pool is full").into())
        }
    }
}

/// Creates a user of `role` in `company` from `body`, through `action`.
async fn create(
    app: &App,
    who: &Principal,
    company: CompanyId,
    body: Body,
    wipes: Option<&Wipes>,
    action: &'static str,
    allowed: &[Role],
) -> Handled {
    let body = read_body(app, body, MAX_USER_BODY_LEN)
        .await
        .map_err(|refused| ApiError::Answer(refused.into_response()))?;
    let parsed = new_user(&body);
    wipe(body, wipes);
    let new = parsed.map_err(|(field, message)| invalid(app, field, &message))?;
    let role = new
        .role
        .unwrap_or(allowed.first().copied().unwrap_or(Role::User));
    if !allowed.contains(&role) {
        let message = match role {
            Role::Manager => "a manager is created at /fabric/api/users/managers",
            Role::Administrator => "administrators are made by platform support only",
            _ => "is not a role this route creates",
        };
        return Err(invalid(app, "role", message));
    }
    let hash = hash(app, new.password).await?;
    let user = UserRecord::active(new.id.clone(), company.clone(), role);
    let added = app
        .store
        .records()
        .add_user_unless_taken(user.clone(), new.username.clone(), hash)
        .await?;
    if !added {
        return Ok(json_response(
            StatusCode::CONFLICT,
            r#"{"message":"The id or the username is taken."}"#.to_owned(),
        ));
    }
    let change = UserChanged {
        user: new.id,
        change: UserChange::Created,
        role: Some(role),
        custom_role: None,
        refused: None,
    };
    audit_change(app, who, action, &company, change).await?;
    Ok(json_response(
        StatusCode::CREATED,
        user_json(&user, Some(&new.username)).to_string(),
    ))
}

/// What a creation route makes: the policy action guarding it (and named in its
/// audit record) and the roles it may give, the first by default.
trait Creates {
    const ACTION: &'static str;
    const ROLES: &'static [Role];
}

/// `POST /fabric/api/users`: users and read-only users.
struct Users;
impl Creates for Users {
    const ACTION: &'static str = "users.create-user";
    const ROLES: &'static [Role] = &[Role::User, Role::ReadOnly];
}

/// `POST /fabric/api/users/managers`.
struct Managers;
impl Creates for Managers {
    const ACTION: &'static str = "users.create-manager";
    const ROLES: &'static [Role] = &[Role::Manager];
}

async fn create_route<C: Creates>(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    if !is_json(&headers) {
        return Ok(outcome_response(
            &app.auth.flow().responder().unsupported_media_type(),
        ));
    }
    let wipes = wipes.as_deref().map(|w| &**w);
    create(&app, &who, company, body, wipes, C::ACTION, C::ROLES).await
}

/// The target user of a change, or a 404.
async fn target(app: &App, company: &CompanyId, id: &str) -> Result<UserRecord, ApiError> {
    let Ok(id) = UserId::new(id) else {
        return Err(ApiError::Answer(not_found()));
    };
    match app.store.records().user_of(company.clone(), id).await? {
        Some(user) => Ok(user),
        None => Err(ApiError::Answer(not_found())),
    }
}

/// What a request asks of a user: the policy action it came through and the change,
/// as the audit record of its refusal by the role rules names them.
pub(super) struct Asked {
    /// The policy action guarding the route.
    pub(super) action: &'static str,
    /// The change asked for (its `refused` is filled in on a refusal).
    pub(super) change: UserChanged,
}

impl Asked {
    /// `change` of `user` through `users.update`, with nothing else to name.
    fn update(user: &UserRecord, change: UserChange) -> Asked {
        Asked {
            action: "users.update",
            change: UserChanged {
                user: user.id.clone(),
                change,
                role: None,
                custom_role: None,
                refused: None,
            },
        }
    }
}

/// Whether the platform's role rules let `who` change `target` to `to`: the role
/// change decision, with the standing the target's company gives `who` (its own, or
/// linked with a grant). `Err` with the refusal, audited.
pub(super) async fn role_rules(
    app: &App,
    who: &Principal,
    headers: &HeaderMap,
    company: &CompanyId,
    target: &UserRecord,
    to: Role,
    asked: Asked,
) -> Result<(), ApiError> {
    let parent = app.store.company(company).await?.and_then(|c| c.parent);
    // The actor's grants, as the guard read them (from the records, by its
    // credential); only a linked company needs them.
    let now = app.now();
    let grants = if company == who.company() {
        Vec::new()
    } else {
        match pw_auth_http::credential_ref_from_headers(headers) {
            Ok(Some(credential)) => {
                let held = app.store.load(&credential.digest()).await?;
                pw_auth_core::grants_in_force(&held.grants, now)
            }
            _ => Vec::new(),
        }
    };
    let change = RoleChange::new(target, to)
        .with_parent(parent.as_ref())
        .with_grants(&grants);
    let decision = authorize_role_change(who, &change, now);
    if decision.is_allowed() {
        return Ok(());
    }
    let reason = decision.reason();
    let refused = UserChanged {
        refused: Some(reason.kind()),
        ..asked.change
    };
    audit_change(app, who, asked.action, company, refused).await?;
    let body = serde_json::json!({"message": format!("{reason}."), "reason": reason});
    Err(ApiError::Answer(json_response(
        StatusCode::FORBIDDEN,
        body.to_string(),
    )))
}

async fn change_role(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let body = read_body(&app, body, MAX_USER_BODY_LEN)
        .await
        .map_err(|refused| ApiError::Answer(refused.into_response()))?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        role: String,
    }
    let to = serde_json::from_slice::<Body>(&body)
        .ok()
        .and_then(|b| b.role.parse::<Role>().ok())
        .ok_or_else(|| invalid(&app, "role", "must be a role"))?;
    let mut user = target(&app, &company, &id).await?;
    let mut asked = Asked::update(&user, UserChange::RoleChanged);
    asked.change.role = Some(to);
    role_rules(&app, &who, &headers, &company, &user, to, asked).await?;
    user.role = to;
    if !app.store.records().set_user(user.clone()).await? {
        return Ok(not_found());
    }
    let change = UserChanged {
        user: user.id.clone(),
        change: UserChange::RoleChanged,
        role: Some(to),
        custom_role: None,
        refused: None,
    };
    audit_change(&app, &who, "users.update", &company, change).await?;
    Ok(json_response(
        StatusCode::OK,
        user_json(&user, None).to_string(),
    ))
}

/// `PATCH /fabric/api/users/{id}`: `{"username"?, "password"?}` (one or both) → 200
/// with the user. Whom the actor may demote (the platform's role table) it may
/// update, as it may disable; a new password revokes every token of theirs at once.
/// 409 for a username another user has; 422 for a body that changes nothing, a
/// username or password the creation routes would refuse.
async fn update(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let body = json_body(&app, &headers, body, MAX_USER_BODY_LEN).await?;
    let parsed = login_change(&body);
    wipe(body, wipes.as_deref().map(|w| &**w));
    let (username, password) = parsed.map_err(|(field, message)| invalid(&app, field, &message))?;
    let user = target(&app, &company, &id).await?;
    role_rules(
        &app,
        &who,
        &headers,
        &company,
        &user,
        Role::ReadOnly,
        Asked::update(&user, UserChange::Updated),
    )
    .await?;
    let hash = match password {
        Some(p) => Some(hash(&app, p).await?),
        None => None,
    };
    let updated = app
        .store
        .records()
        .update_login(
            company.clone(),
            user.id.clone(),
            username.clone(),
            hash,
            app.now(),
        )
        .await?;
    match updated {
        LoginUpdated::Done => {}
        LoginUpdated::NoUser => return Ok(not_found()),
        LoginUpdated::UsernameTaken => {
            return Ok(json_response(
                StatusCode::CONFLICT,
                r#"{"message":"The username is taken."}"#.to_owned(),
            ));
        }
    }
    let change = UserChanged {
        user: user.id.clone(),
        change: UserChange::Updated,
        role: None,
        custom_role: None,
        refused: None,
    };
    audit_change(&app, &who, "users.update", &company, change).await?;
    Ok(json_response(
        StatusCode::OK,
        user_json(&user, username.as_deref()).to_string(),
    ))
}

/// What a body refuses: the field, and why.
type Refusal = (&'static str, String);

/// Parses an update's body: a new username, a new password, or both.
fn login_change(body: &[u8]) -> Result<(Option<String>, Option<Password>), Refusal> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body<'a> {
        username: Option<String>,
        #[serde(borrow)]
        password: Option<Cow<'a, str>>,
    }
    let b: Body<'_> = serde_json::from_slice(body).map_err(|_| {
        (
            "body",
            "must be a JSON object with a username, a password or both".to_owned(),
        )
    })?;
    if b.username.is_none() && b.password.is_none() {
        return Err((
            "body",
            "name a new username, a new password or both".to_owned(),
        ));
    }
    if let Some(username) = &b.username {
        check_username(username)?;
    }
    let password = b.password.map(new_password).transpose()?;
    if let (Some(p), Some(u)) = (&password, &b.username)
        && p.expose_secret() == u
    {
        return Err(("password", "must not be the username".to_owned()));
    }
    Ok((b.username, password))
}

/// Disables or enables `id`: whom the actor may demote (the platform's role table),
/// it may disable and enable; nobody disables themselves.
async fn set_status(
    app: &App,
    who: &Principal,
    headers: &HeaderMap,
    company: CompanyId,
    id: &str,
    status: UserStatus,
) -> Handled {
    let mut user = target(app, &company, id).await?;
    let change = match status {
        UserStatus::Disabled => UserChange::Disabled,
        UserStatus::Active => UserChange::Enabled,
    };
    // "May demote to read-only" is exactly "outranks the target" in the role rules.
    let asked = Asked::update(&user, change);
    role_rules(app, who, headers, &company, &user, Role::ReadOnly, asked).await?;
    user.status = status;
    if !app.store.records().set_user(user.clone()).await? {
        return Ok(not_found());
    }
    let done = UserChanged {
        user: user.id.clone(),
        change,
        role: None,
        custom_role: None,
        refused: None,
    };
    audit_change(app, who, "users.update", &company, done).await?;
    Ok(json_response(
        StatusCode::OK,
        user_json(&user, None).to_string(),
    ))
}

async fn disable(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Handled {
    set_status(&app, &who, &headers, company, &id, UserStatus::Disabled).await
}

async fn enable(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Handled {
    set_status(&app, &who, &headers, company, &id, UserStatus::Active).await
}
