//! `/fabric/api/roles`: the role manager — a company's own custom roles, made,
//! edited and deleted by its administrators (Enterprise), and
//! `/fabric/api/users/{id}/custom-role`: one assigned to a user or taken away.
//!
//! Each route is guarded by the policy's own action (`roles.create`, `roles.edit`,
//! `roles.assign`: an administrator of the company, on a tier with the role manager,
//! in its own company); a definition is checked by the core as a policy's custom
//! roles are (a 422 names the error and its place in the body); each change is
//! audited (`custom_role_changed`, or `user_changed` for an assignment), and the
//! next request of a user holding the role is decided by what it is then.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use http::{HeaderMap, StatusCode};
use pw_auth_axum::{ActingIn, AuthStore, Authenticated, UnknownAction};
use pw_auth_core::{
    AuditRecord, CompanyId, CompanyRole, CustomRoleChange, CustomRoleChanged, CustomRoleName,
    Principal, Role, UserChange, UserChanged, UserId,
};

use super::{ApiError, App, Handled, invalid, json_body, json_response, not_found};
use crate::db::{Assigned, RoleDeleted};

/// The largest role definition read: 64 KiB (a role names each area at most twice).
const MAX_ROLE_BODY_LEN: usize = 64 * 1024;

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    let a = &app.auth;
    Ok(Router::new()
        .route(
            "/fabric/api/roles",
            get(list).route_layer(a.require("roles.edit")?),
        )
        .route(
            "/fabric/api/roles",
            post(create).route_layer(a.require("roles.create")?),
        )
        .route(
            "/fabric/api/roles/{name}",
            put(edit).route_layer(a.require("roles.edit")?),
        )
        .route(
            "/fabric/api/roles/{name}",
            delete(remove).route_layer(a.require("roles.edit")?),
        )
        .route(
            "/fabric/api/users/{id}/custom-role",
            put(assign).route_layer(a.require("roles.assign")?),
        ))
}

/// A role as listed: `{"name", "view", "edit", "defined_by"}`.
fn role_json(name: &str, view: &[&str], edit: &[&str], defined_by: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "view": view, "edit": edit, "defined_by": defined_by})
}

fn company_role_json(role: &CompanyRole) -> serde_json::Value {
    let view: Vec<&str> = role.view().collect();
    let edit: Vec<&str> = role.edit().collect();
    role_json(role.name().as_str(), &view, &edit, "company")
}

/// `GET /fabric/api/roles`: `{"data": [role, …]}` — the company's own roles, then
/// the policy's (`"defined_by": "policy"`), which every company's users may hold.
async fn list(State(app): State<App>, ActingIn(company): ActingIn) -> Handled {
    let own = app.store.records().custom_roles_of(company).await?;
    let flow = app.auth.flow();
    let policy = flow.policy();
    let mut data: Vec<serde_json::Value> = own.iter().map(company_role_json).collect();
    for role in policy.custom_roles() {
        let areas = |kind| policy.custom_role_areas(role, kind).collect::<Vec<_>>();
        let view = areas(pw_auth_core::ActionKind::View);
        let edit = areas(pw_auth_core::ActionKind::Edit);
        data.push(role_json(role.name().as_str(), &view, &edit, "policy"));
    }
    Ok(json_response(
        StatusCode::OK,
        serde_json::json!({ "data": data }).to_string(),
    ))
}

/// The body as a role of `company`, checked against the policy; a 422 naming the
/// error, where it is in the body, and how to fix it.
async fn definition(
    app: &App,
    headers: &HeaderMap,
    company: &CompanyId,
    body: Body,
) -> Result<CompanyRole, ApiError> {
    let body = json_body(app, headers, body, MAX_ROLE_BODY_LEN).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| invalid(app, "role", "the body is not UTF-8 text"))?;
    app.auth
        .flow()
        .policy()
        .company_role_from_json(company, text)
        .map_err(|e| {
            let message = match e.help() {
                Some(help) => format!("{e} ({help})"),
                None => e.to_string(),
            };
            invalid(app, "role", &message)
        })
}

/// Keeps the audit record of a change to one of `company`'s roles.
async fn audit_role(
    app: &App,
    who: &Principal,
    action: &str,
    company: &CompanyId,
    change: CustomRoleChanged,
) -> Result<(), ApiError> {
    let now = app.now();
    let flow = app.auth.flow();
    let record = AuditRecord::custom_role_changed(flow.policy(), who, action, company, change, now)
        .with_decision_id((app.decision_ids)(now));
    Ok(app.store.audit(&record).await?)
}

fn conflict(message: &str) -> ApiError {
    let body = serde_json::json!({ "message": message });
    ApiError::Answer(json_response(StatusCode::CONFLICT, body.to_string()))
}

/// `POST /fabric/api/roles`: `{"name", "view", "edit"}` → 201 with the role as
/// kept (areas sorted). 409 for a name the company or the policy has already; 422
/// for a definition the policy's checks refuse.
async fn create(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let role = definition(&app, &headers, &company, body).await?;
    if app.auth.flow().policy().custom_role(role.name()).is_some() {
        return Err(conflict(
            "The policy defines a custom role of this name; choose another.",
        ));
    }
    if !app.store.records().add_custom_role(role.clone()).await? {
        return Err(conflict("The company has a custom role of this name."));
    }
    let change = CustomRoleChanged::of(&role, CustomRoleChange::Created);
    audit_role(&app, &who, "roles.create", &company, change).await?;
    Ok(json_response(
        StatusCode::CREATED,
        company_role_json(&role).to_string(),
    ))
}

/// `PUT /fabric/api/roles/{name}`: the whole new definition, its `name` the path's
/// → 200 with the role as kept; 404 for a role the company does not define; 422 for a
/// definition refused, or one whose name is not the path's.
async fn edit(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let role = definition(&app, &headers, &company, body).await?;
    if role.name().as_str() != name {
        return Err(invalid(
            &app,
            "name",
            "must be the name in the path: a role is renamed by creating the new one",
        ));
    }
    if !app.store.records().set_custom_role(role.clone()).await? {
        return Ok(not_found());
    }
    let change = CustomRoleChanged::of(&role, CustomRoleChange::Edited);
    audit_role(&app, &who, "roles.edit", &company, change).await?;
    Ok(json_response(
        StatusCode::OK,
        company_role_json(&role).to_string(),
    ))
}

/// `DELETE /fabric/api/roles/{name}`: 204; 404 for a role the company does not
/// define; 409 while a user holds it (take it away from them first: nobody is left
/// holding a role that no longer says what they may do).
async fn remove(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(name): Path<String>,
) -> Handled {
    let Ok(name) = CustomRoleName::new(&name) else {
        return Ok(not_found());
    };
    match app
        .store
        .records()
        .delete_custom_role(company.clone(), name.clone())
        .await?
    {
        RoleDeleted::NotFound => Ok(not_found()),
        RoleDeleted::Held(n) => Err(conflict(&format!(
            "{n} of the company's users hold this role; take it away from them first."
        ))),
        RoleDeleted::Deleted => {
            let change = CustomRoleChanged {
                name,
                change: CustomRoleChange::Deleted,
                view: Box::default(),
                edit: Box::default(),
            };
            audit_role(&app, &who, "roles.edit", &company, change).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// `PUT /fabric/api/users/{id}/custom-role`: `{"custom_role": "lead"}` gives the
/// user a custom role of the company's (or the policy's), `{"custom_role": null}`
/// takes theirs away → 200 with the user. 404 for no such user of the company; 422
/// for an API key's user (which never holds one), for the caller themselves (nobody
/// narrows or widens their own permissions), or for a role nobody defines; 403 by the
/// platform's role rules for a user the caller may not demote (an administrator), as
/// for disabling.
async fn assign(
    State(app): State<App>,
    ActingIn(company): ActingIn,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let body = json_body(&app, &headers, body, MAX_ROLE_BODY_LEN).await?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Assign {
        custom_role: Option<String>,
    }
    let asked = serde_json::from_slice::<Assign>(&body)
        .map_err(|_| {
            invalid(
                &app,
                "custom_role",
                "the body is `{\"custom_role\": name}`, or null to take it away",
            )
        })?
        .custom_role
        .map(|n| CustomRoleName::new(&n))
        .transpose()
        .map_err(|e| invalid(&app, "custom_role", &e.to_string()))?;
    let Ok(user) = UserId::new(&id) else {
        return Ok(not_found());
    };
    if &user == who.user() {
        return Err(invalid(
            &app,
            "user",
            "nobody assigns themselves a custom role, or takes their own away",
        ));
    }
    let records = app.store.records();
    match records.user_of(company.clone(), user.clone()).await? {
        None => return Ok(not_found()),
        Some(target) if target.role == Role::ApiUser => {
            return Err(invalid(
                &app,
                "user",
                "an API key's user never holds a custom role: create a key with a scope instead",
            ));
        }
        // Whom the actor may demote (the platform's role rules), it may narrow or
        // reshape with a custom role: never an administrator, never oneself.
        Some(target) => {
            let change = match asked {
                Some(_) => UserChange::CustomRoleAssigned,
                None => UserChange::CustomRoleRemoved,
            };
            let change = super::users::Asked {
                action: "roles.assign",
                change: UserChanged {
                    user: target.id.clone(),
                    change,
                    role: None,
                    custom_role: asked.clone().or_else(|| target.custom_role.clone()),
                    refused: None,
                },
            };
            let rules = super::users::role_rules(
                &app,
                &who,
                &headers,
                &company,
                &target,
                Role::ReadOnly,
                change,
            );
            rules.await?;
        }
    }
    let policy_defines = asked
        .as_ref()
        .is_some_and(|n| app.auth.flow().policy().custom_role(n).is_some());
    let (user, before) = match records
        .assign_custom_role(company.clone(), user, asked.clone(), policy_defines)
        .await?
    {
        Assigned::Done { user, before } => (user, before),
        Assigned::NoUser => return Ok(not_found()),
        Assigned::NoRole => {
            return Err(invalid(
                &app,
                "custom_role",
                "neither the company nor the policy defines a custom role of this name",
            ));
        }
    };
    let change = match (&asked, before) {
        (Some(name), _) => Some((UserChange::CustomRoleAssigned, name.clone())),
        (None, Some(was)) => Some((UserChange::CustomRoleRemoved, was)),
        (None, None) => None,
    };
    if let Some((change, name)) = change {
        let now = app.now();
        let flow = app.auth.flow();
        let changed = UserChanged {
            user: user.id.clone(),
            change,
            role: None,
            custom_role: Some(name),
            refused: None,
        };
        let record =
            AuditRecord::user_changed(flow.policy(), &who, "roles.assign", &company, changed, now)
                .with_decision_id((app.decision_ids)(now));
        app.store.audit(&record).await?;
    }
    Ok(json_response(
        StatusCode::OK,
        super::users::user_json(&user, None).to_string(),
    ))
}
