//! The platform's protected endpoints that the reference server stands in for: each
//! answers a fixed body once its guard allowed the request.

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use pw_auth_axum::ActingIn;

use pw_auth_axum::UnknownAction;

use super::{App, json_response};

pub(super) fn router(app: &App) -> Result<Router<App>, UnknownAction> {
    let a = &app.auth;
    Ok(Router::new()
        .route(
            "/fabric/api/flows",
            get(list_flows).route_layer(a.require("flows.view")?),
        )
        .route(
            "/fabric/api/flows/{id}/deploy",
            post(done).route_layer(a.require("flows.deploy")?),
        )
        .route(
            "/fabric/api/blueprints/{id}/publish",
            post(done).route_layer(a.require("blueprints.publish")?),
        )
        .route(
            "/fabric/api/scripts",
            post(created).route_layer(a.require("scripts.create")?),
        ))
}

async fn list_flows(ActingIn(company): ActingIn) -> Response {
    let body = serde_json::json!({
        "company": company,
        "data": [{"id": "orders-to-erp", "enabled": true}, {"id": "stock-sync", "enabled": false}],
    });
    json_response(StatusCode::OK, body.to_string())
}

async fn done(Path(id): Path<String>) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::json!({"message": "Done.", "id": id}).to_string(),
    )
}

async fn created() -> Response {
    json_response(StatusCode::CREATED, r#"{"message":"Created."}"#.to_owned())
}
