//! `/authz`: the forward-auth decision endpoint for gateways (nginx `auth_request`,
//! Traefik `ForwardAuth`, Envoy's `ext_authz` HTTP service). It reads the original
//! request's method and URI from the gateway's headers (`X-Original-Method` and
//! `X-Original-URI`, or `X-Forwarded-Method` and `X-Forwarded-Uri`; Envoy's way, the
//! request's own method and its path after `/authz`), maps them to an action by the
//! configured route table, and runs the same flow as every route of this server
//! (throttle, authenticate, authorise, charge, audit): 200 with the caller's identity
//! for the upstream, or the library's 401, 403 or 429 with its headers for the
//! gateway to pass on. A request no route maps is denied (403).

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use pw_auth_axum::{UnknownAction, outcome_response};

use super::{App, json_response};
use crate::gateway::route_for;

/// The identity headers an allowed answer carries, for the gateway to copy to the
/// upstream request (and to strip from what clients send).
pub(crate) const USER: &str = "x-pw-user";
/// The company the request was authorised to act in.
pub(crate) const COMPANY: &str = "x-pw-company";
/// The caller's own company (differs in a linked company entered by grant).
pub(crate) const PRINCIPAL_COMPANY: &str = "x-pw-principal-company";
/// The caller's role.
pub(crate) const ROLE: &str = "x-pw-role";
/// The caller's custom role, when it acts under one.
pub(crate) const CUSTOM_ROLE: &str = "x-pw-custom-role";

/// Where gateways put the original method and URI: nginx (as configured in
/// `docs/gateways.md`), and Traefik's and Envoy's forwarded-request headers.
const METHOD_HEADERS: [&str; 2] = ["x-original-method", "x-forwarded-method"];
const URI_HEADERS: [&str; 2] = ["x-original-uri", "x-forwarded-uri"];

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    // Every route's action checked against the policy before anything listens.
    for route in app.authz.iter() {
        app.auth.require(route.action())?;
    }
    Ok(Router::new()
        .route("/authz", any(authz))
        // Envoy's HTTP authorization service: the original method, and the original
        // path after this prefix.
        .route("/authz/{*rest}", any(authz)))
}

/// The original method and URI: from the gateway's headers, or else (Envoy) the
/// request's own method and its path after `/authz`.
fn original_request(parts: &http::request::Parts) -> Option<(Method, String)> {
    let method = original(parts, &METHOD_HEADERS);
    let uri = original(parts, &URI_HEADERS);
    match (method, uri) {
        (Some(m), Some(u)) => Some((
            Method::from_bytes(m.trim().as_bytes()).ok()?,
            u.trim().to_owned(),
        )),
        (None, None) => {
            let path = parts.uri.path().strip_prefix("/authz")?;
            if !path.starts_with('/') {
                return None;
            }
            let uri = match parts.uri.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            };
            Some((parts.method.clone(), uri))
        }
        _ => None,
    }
}

/// The value of the first of `names` the request has, once, as text.
fn original<'a>(parts: &'a http::request::Parts, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        let mut values = parts.headers.get_all(*name).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().ok(),
            _ => None,
        }
    })
}

async fn authz(State(app): State<App>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let responder = app.auth.flow().responder().clone();
    let Some((method, uri)) = original_request(&parts) else {
        return outcome_response(&responder.bad_request(
            "Send the original method and URI (X-Original-Method and X-Original-URI).",
        ));
    };
    let Some(route) = route_for(&app.authz, &method, &uri) else {
        return json_response(
            StatusCode::FORBIDDEN,
            r#"{"message":"No route maps this request to an action."}"#.to_owned(),
        );
    };
    match app.auth.check(&parts, route.action()).await {
        Err(refused) => refused,
        Ok(admitted) => {
            let p = &admitted.principal;
            // Every identity header, the custom role empty when there is none: a
            // gateway that copies them replaces whatever a client sent under those
            // names.
            let identity = [
                (USER, p.user().as_str().to_owned()),
                (COMPANY, admitted.company.as_str().to_owned()),
                (PRINCIPAL_COMPANY, p.company().as_str().to_owned()),
                (ROLE, p.role().as_str().to_owned()),
                (
                    CUSTOM_ROLE,
                    p.custom_role().map_or("", |c| c.as_str()).to_owned(),
                ),
            ];
            let mut response = StatusCode::OK.into_response();
            let headers = response.headers_mut();
            for (name, value) in identity
                .iter()
                .map(|(n, v)| (*n, v.as_str()))
                .chain(admitted.headers.iter().map(|(n, v)| (*n, v.as_str())))
            {
                // Ids and codes are header-safe by their grammars; a value that is
                // not is left out rather than sent broken.
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    headers.append(n, v);
                }
            }
            if let Some(id) = admitted.verdict.decision_id
                && let Ok(v) = HeaderValue::from_str(&id.to_string())
            {
                headers.insert(pw_auth_axum::DECISION_ID, v);
            }
            response.extensions_mut().insert(admitted.verdict);
            response
        }
    }
}
