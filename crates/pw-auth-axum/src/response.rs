//! Outcomes as axum responses, and the 503 of a failed store.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use pw_auth_http::Outcome;

use crate::{StoreError, Unavailable};

/// The response for an [`Outcome`]: its status, headers and JSON body.
pub fn outcome_response(outcome: &Outcome) -> Response {
    let (parts, body) = outcome.to_http_response().into_parts();
    Response::from_parts(parts, Body::from(body))
}

/// An [`Outcome`] as an axum response.
#[derive(Debug, Clone)]
pub struct OutcomeResponse(pub Outcome);

impl IntoResponse for OutcomeResponse {
    fn into_response(self) -> Response {
        outcome_response(&self.0)
    }
}

/// 503 for a store that failed: nothing is allowed that could not be checked. The
/// answer says nothing about the failure (it may name a file or a host); the failure
/// goes with the response as [`Unavailable`], for the layer that logs it.
pub fn unavailable(error: StoreError) -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (http::header::CONTENT_TYPE, "application/json"),
            (http::header::RETRY_AFTER, "1"),
        ],
        r#"{"message":"Service unavailable."}"#,
    )
        .into_response();
    r.extensions_mut().insert(Unavailable(error));
    r
}
