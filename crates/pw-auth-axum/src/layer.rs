//! The tower layer of [`PwAuth::require`](crate::PwAuth::require) and its service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use http::{HeaderName, HeaderValue, Request};
use pw_auth_http::RateLimitFields;

use crate::extract::Guarded;
use crate::{ActingIn, Admitted, AuthStore, PwAuth};

/// The layer of [`PwAuth::require`].
pub struct RequireLayer<S> {
    pub(crate) auth: PwAuth<S>,
    /// An action of the policy's (checked by [`PwAuth::require`]).
    pub(crate) action: Arc<str>,
}

impl<S> Clone for RequireLayer<S> {
    fn clone(&self) -> Self {
        RequireLayer {
            auth: self.auth.clone(),
            action: Arc::clone(&self.action),
        }
    }
}

impl<S, I> tower::Layer<I> for RequireLayer<S> {
    type Service = Require<S, I>;

    fn layer(&self, inner: I) -> Self::Service {
        Require {
            auth: self.auth.clone(),
            action: Arc::clone(&self.action),
            inner,
        }
    }
}

/// The service of [`RequireLayer`].
pub struct Require<S, I> {
    auth: PwAuth<S>,
    action: Arc<str>,
    inner: I,
}

impl<S, I: Clone> Clone for Require<S, I> {
    fn clone(&self) -> Self {
        Require {
            auth: self.auth.clone(),
            action: Arc::clone(&self.action),
            inner: self.inner.clone(),
        }
    }
}

impl<S, I> tower::Service<Request<Body>> for Require<S, I>
where
    S: AuthStore,
    I: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    I::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's rule).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let auth = self.auth.clone();
        let action = Arc::clone(&self.action);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let Admitted {
                principal,
                company,
                headers,
                verdict,
                ..
            } = match auth.check_shared(&parts, action).await {
                Ok(ok) => ok,
                Err(refusal) => return Ok(refusal),
            };
            parts.extensions.insert(Guarded {
                principal,
                acting_in: ActingIn(company),
            });
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            for (name, value) in headers {
                // The value's bytes move into the header, uncopied.
                if let Ok(v) = HeaderValue::try_from(value) {
                    response.headers_mut().insert(header_name(name), v);
                }
            }
            response.extensions_mut().insert(verdict);
            Ok(response)
        })
    }
}

/// The `RateLimit` fields' names, made once.
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static(RateLimitFields::POLICY);
const RATELIMIT: HeaderName = HeaderName::from_static(RateLimitFields::LIMIT);
const DECISION_ID: HeaderName = HeaderName::from_static(crate::DECISION_ID);

/// `name` as a header name: the fields an admitted request carries from a constant,
/// any other parsed (each name the flow hands out is a valid lowercase token).
fn header_name(name: &'static str) -> HeaderName {
    match name {
        RateLimitFields::POLICY => RATELIMIT_POLICY,
        RateLimitFields::LIMIT => RATELIMIT,
        crate::DECISION_ID => DECISION_ID,
        other => HeaderName::from_static(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_the_flows_own() {
        for name in [
            RateLimitFields::POLICY,
            RateLimitFields::LIMIT,
            crate::DECISION_ID,
            "retry-after",
        ] {
            assert_eq!(header_name(name).as_str(), name);
        }
    }
}
