//! What a guarded handler reads: [`Authenticated`] and [`ActingIn`].

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use pw_auth_core::{CompanyId, Principal};

/// The authenticated principal of a request that passed a [`RequireLayer`](crate::RequireLayer). Used
/// without one, it refuses the request (500): a handler never runs unauthenticated
/// by mistake.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<T: Send + Sync> FromRequestParts<T> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &T) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated)
            .ok_or_else(|| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the route has no pw-auth guard",
                )
                    .into_response()
            })
    }
}

/// The company a request that passed a [`RequireLayer`](crate::RequireLayer) was authorised to act in
/// (its caller's own, or the linked one the company hook named). Handlers act on
/// this company's entities and no other. Used without a guard, it refuses (500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingIn(pub CompanyId);

impl<T: Send + Sync> FromRequestParts<T> for ActingIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &T) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<ActingIn>().cloned().ok_or_else(|| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the route has no pw-auth guard",
            )
                .into_response()
        })
    }
}
