//! What a guarded handler reads: [`Authenticated`] and [`ActingIn`].

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use pw_auth_core::{CompanyId, Principal};

/// What a [`RequireLayer`](crate::RequireLayer) leaves in the extensions of a request
/// it lets through, for [`Authenticated`] and [`ActingIn`] to read: one entry, so one
/// allocation and one insertion a request rather than one each.
#[derive(Clone)]
pub(crate) struct Guarded {
    pub(crate) principal: Principal,
    pub(crate) acting_in: ActingIn,
}

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
            .get::<Guarded>()
            .map(|g| Authenticated(g.principal.clone()))
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
        let guarded = parts.extensions.get::<Guarded>();
        guarded.map(|g| g.acting_in.clone()).ok_or_else(|| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the route has no pw-auth guard",
            )
                .into_response()
        })
    }
}
