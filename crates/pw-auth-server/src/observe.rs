//! What an operator sees: one log event per request, inside a span that carries its
//! request id; the Prometheus metrics; the health and readiness endpoints.
//!
//! Nothing here reads a credential. A request's log event and labels are built from
//! its method, its matched route (never the path or the query, which may carry
//! anything), its status, and the [`Verdict`] the guard or the login route put in
//! the answer's extensions: stable codes and ids only.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use pw_auth_axum::{Unavailable, Verdict};

use crate::last_use::KeyUses;

use crate::Chain;
use crate::hashing::PasswordPool;
use crate::store::Store;

/// The request id's field, honoured when a client (or a proxy) sends a usable one,
/// and echoed on every answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id honoured; a longer one is replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The route label of a request no route matched: one value, however many paths
/// are tried, so that a scan cannot grow the metrics.
const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    effect: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    call: &'static str,
}

/// Latency buckets: 50 µs to about 6.5 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

/// The server's metrics, and the registry that writes them out.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    decisions: Family<DecisionLabels, Counter>,
    unavailable: Family<CauseLabels, Counter>,
    store_calls: Family<CallLabels, Histogram, fn() -> Histogram>,
    connections: Gauge,
    key_use_writes: Counter,
}

impl Metrics {
    /// The metrics of a server whose password hashing is `pool`.
    pub(crate) fn new(pool: PasswordPool) -> Metrics {
        let mut registry = Registry::with_prefix("pw_auth");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let decisions = Family::<DecisionLabels, Counter>::default();
        let unavailable = Family::<CauseLabels, Counter>::default();
        let store_calls = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let connections = Gauge::default();
        registry.register(
            "http_requests",
            "Requests answered, by matched route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its answer, by matched route",
            latency.clone(),
        );
        registry.register(
            "decisions",
            "Requests and logins decided, by effect and reason kind (over_limit and throttled are the 429s)",
            decisions.clone(),
        );
        registry.register(
            "unavailable",
            "Answers 503 for a failed store, by the failure's kind",
            unavailable.clone(),
        );
        registry.register(
            "store_call_duration_seconds",
            "Time of the guard's calls to the record store, by call",
            store_calls.clone(),
        );
        registry.register(
            "open_connections",
            "Client connections open now",
            connections.clone(),
        );
        let key_use_writes = Counter::default();
        registry.register(
            "key_last_used_writes",
            "Writes of API keys' last use (written behind, at most one per key a minute)",
            key_use_writes.clone(),
        );
        registry.register_collector(Box::new(Hashing(pool)));
        Metrics {
            registry,
            requests,
            latency,
            decisions,
            unavailable,
            store_calls,
            connections,
            key_use_writes,
        }
    }

    /// Counts `n` writes of keys' last use.
    pub(crate) fn key_uses_written(&self, n: usize) {
        self.key_use_writes
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Counts a call to the record store that took `took`.
    pub(crate) fn store_call(&self, call: &'static str, took: Duration) {
        self.store_calls
            .get_or_create(&CallLabels { call })
            .observe(took.as_secs_f64());
    }

    /// One more connection open; one fewer when the guard is dropped.
    pub(crate) fn connection_opened(self: &Arc<Self>) -> ConnectionGauge {
        self.connections.inc();
        ConnectionGauge(Arc::clone(self))
    }

    /// The exposition, in the OpenMetrics text format.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// An open connection, counted until dropped.
pub(crate) struct ConnectionGauge(Arc<Metrics>);

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}

/// The password hashing pool's figures, read at each scrape.
#[derive(Debug)]
struct Hashing(PasswordPool);

impl Collector for Hashing {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        let counters = [
            (
                "password_verifications",
                "Passwords verified",
                stats.verifications,
            ),
            (
                "password_verifications_refused",
                "Password verifications refused because the queue was full (503)",
                stats.refused,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges = [
            (
                "password_verifications_queued",
                "Password verifications waiting for a thread",
                stats.queued,
            ),
            (
                "password_verifications_running",
                "Password verifications running",
                stats.running,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Where request ids come from: a client's usable `X-Request-Id`, or this process's
/// own (a random prefix drawn at start and a counter: unique without a lock).
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    /// Ids that start with `random`'s first eight bytes, in hex.
    pub(crate) fn new(random: &[u8; 32]) -> RequestIds {
        let mut prefix = String::with_capacity(16);
        for b in random.iter().take(8) {
            prefix.push_str(&format!("{b:02x}"));
        }
        RequestIds {
            prefix,
            next: AtomicU64::new(0),
        }
    }

    /// The id of a request that sent `sent`: `sent` itself if it is usable (1 to 128
    /// of `A-Z a-z 0-9 - _ . : / + = @`, so that it cannot break a log line), else a
    /// new one.
    fn of(&self, sent: Option<&HeaderValue>) -> HeaderValue {
        if let Some(v) = sent.filter(|v| usable_id(v.as_bytes())) {
            return v.clone();
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n:x}", self.prefix);
        HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-"))
    }
}

fn usable_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=' | b'@')
        })
}

/// Decision ids ([`DecisionId`](pw_auth_core::DecisionId)) whose random part is
/// `random`'s first ten bytes with a counter added to their last eight: unique in
/// this process by the counter, across servers by the bytes each drew at start, and
/// no system call a request.
pub(crate) fn decision_ids(random: &[u8; 32]) -> Arc<pw_auth_axum::DecisionIds> {
    let mut head = [0u8; 2];
    let mut tail = [0u8; 8];
    head.copy_from_slice(random.get(..2).unwrap_or(&[0; 2]));
    tail.copy_from_slice(random.get(2..10).unwrap_or(&[0; 8]));
    let base = u64::from_be_bytes(tail);
    let next = AtomicU64::new(0);
    Arc::new(move |at| {
        let n = base.wrapping_add(next.fetch_add(1, Ordering::Relaxed));
        let mut bytes = [0u8; 10];
        let (h, t) = bytes.split_at_mut(2);
        h.copy_from_slice(&head);
        t.copy_from_slice(&n.to_be_bytes());
        pw_auth_core::DecisionId::new(at, bytes)
    })
}

/// What the observing service reads.
#[derive(Debug, Clone)]
pub(crate) struct Observer {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) ids: Arc<RequestIds>,
    /// Where each answered request's API key is noted as used.
    pub(crate) uses: Arc<KeyUses>,
}

/// A method's label: the standard ones by name, anything else as `other` (a client
/// cannot grow the metrics with made-up methods).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, name)| name)
}

/// The service around the whole router (outside it, so that no future of its own is
/// boxed: a boxed future is copied from the stack, stale bytes and all): a request
/// id (honoured or made, and echoed), a span that carries it, one log event when the
/// answer is ready, and the request's metrics. A 503 for a failed store logs its
/// cause chain here, and only here.
#[derive(Clone)]
pub(crate) struct Observe<S> {
    inner: S,
    observer: Observer,
}

impl<S> Observe<S> {
    pub(crate) fn new(inner: S, observer: Observer) -> Observe<S> {
        Observe { inner, observer }
    }
}

impl<S, B> tower::Service<http::Request<B>> for Observe<S>
where
    S: tower::Service<http::Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Observed<S::Future> {
        let started = Instant::now();
        let id = self.observer.ids.of(request.headers().get(REQUEST_ID));
        let method = method_label(request.method());
        let span = tracing::info_span!("request", id = id.to_str().unwrap_or("-"), method);
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Observed {
            inner,
            span,
            started,
            id: Some(id),
            method,
            metrics: Arc::clone(&self.observer.metrics),
            uses: Arc::clone(&self.observer.uses),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Observe`]: the router's, then the log event and the metrics.
    pub(crate) struct Observed<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        started: Instant,
        id: Option<HeaderValue>,
        method: &'static str,
        metrics: Arc<Metrics>,
        uses: Arc<KeyUses>,
    }
}

impl<F> Future for Observed<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let Ok(mut response) = ready!(this.inner.poll(cx));
        answered(
            &mut response,
            this.metrics,
            this.method,
            this.started.elapsed(),
        );
        if let Some(id) = this.id.take() {
            response.headers_mut().insert(REQUEST_ID, id);
        }
        // An authenticated request's API key was used, allowed or not.
        if let Some(key) = response
            .extensions()
            .get::<Verdict>()
            .and_then(|v| v.key.as_ref())
        {
            this.uses.note(key);
        }
        Poll::Ready(Ok(response))
    }
}

/// The request's metrics and its log event, from its answer.
fn answered(response: &mut Response, m: &Metrics, method: &'static str, took: Duration) {
    let route = response
        .extensions_mut()
        .remove::<RouteOf>()
        .map_or_else(|| UNMATCHED.to_owned(), |r| r.0.as_str().to_owned());
    let status = response.status();
    m.requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method,
            status: status.as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(took.as_secs_f64());
    let latency_ms = took.as_secs_f64() * 1000.0;
    if let Some(Unavailable(e)) = response.extensions().get::<Unavailable>() {
        m.unavailable
            .get_or_create(&CauseLabels {
                cause: e.kind().as_str(),
            })
            .inc();
        tracing::error!(
            route,
            status = status.as_u16(),
            cause = e.kind().as_str(),
            error = %Chain(e),
            latency_ms,
            "answered 503: the record store failed"
        );
    } else if let Some(v) = response.extensions().get::<Verdict>() {
        let effect = match v.effect {
            pw_auth_core::Effect::Allow => "allow",
            pw_auth_core::Effect::Deny => "deny",
        };
        m.decisions
            .get_or_create(&DecisionLabels {
                effect,
                kind: v.kind,
            })
            .inc();
        tracing::info!(
            route,
            status = status.as_u16(),
            effect,
            kind = v.kind,
            detail = v.detail,
            user = v.user.as_ref().map(|u| u.as_str()),
            company = v.company.as_ref().map(|c| c.as_str()),
            acting_in = v.acting_in.as_ref().map(|c| c.as_str()),
            decision_id = v.decision_id.as_ref().map(tracing::field::display),
            latency_ms,
            "answered"
        );
    } else {
        tracing::info!(route, status = status.as_u16(), latency_ms, "answered");
    }
}

/// The route a request matched, carried out to [`Observe`] on its answer.
#[derive(Clone)]
struct RouteOf(MatchedPath);

/// The layer inside the router, on every route: `Cache-Control: no-store` (tokens,
/// keys and records are never for a cache) and the matched route on the answer,
/// for [`Observe`] outside.
#[derive(Clone, Copy)]
pub(crate) struct RouteLayer;

impl<S> tower::Layer<S> for RouteLayer {
    type Service = Routed<S>;
    fn layer(&self, inner: S) -> Routed<S> {
        Routed { inner }
    }
}

/// The service of [`RouteLayer`].
#[derive(Clone)]
pub(crate) struct Routed<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Routed<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RoutedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> RoutedFuture<S::Future> {
        let route = request.extensions().get::<MatchedPath>().cloned();
        RoutedFuture {
            inner: self.inner.call(request),
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Routed`].
    pub(crate) struct RoutedFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F> Future for RoutedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = ready!(this.inner.poll(cx));
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(RouteOf(route));
        }
        Poll::Ready(Ok(response))
    }
}

/// `/healthz`, `/readyz` and (unless it listens apart) `/metrics`: unauthenticated,
/// and saying nothing beyond up, ready, and the figures.
pub(crate) fn router(store: Store, metrics: Option<Arc<Metrics>>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || readyz(store.clone())));
    if let Some(m) = metrics {
        router = router.merge(metrics_router(m));
    }
    router
}

/// `/metrics` alone, for a listener of its own.
pub(crate) fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(move || exposition(Arc::clone(&metrics))))
}

async fn healthz() -> Response {
    status_json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// Ready when the records (and Redis, when the budgets are there) answer. The
/// policy is compiled before the server listens, so a listening server has one.
async fn readyz(store: Store) -> Response {
    match store.ping().await {
        Ok(()) => status_json(StatusCode::OK, r#"{"status":"ready"}"#),
        Err(e) => {
            tracing::warn!(error = %Chain(&e), "not ready: the record store failed");
            status_json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"unavailable"}"#,
            )
        }
    }
}

fn status_json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn exposition(metrics: Arc<Metrics>) -> Response {
    match metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usable_request_id_is_kept_and_anything_else_replaced() {
        let ids = RequestIds::new(&[0xab; 32]);
        let kept = HeaderValue::from_static("req-42_a.b:c/d+e=f@g");
        assert_eq!(ids.of(Some(&kept)), kept);
        for bad in ["", "has space", "quote\"", "new\tline", "ü"] {
            let sent = HeaderValue::from_bytes(bad.as_bytes()).ok();
            let made = ids.of(sent.as_ref());
            assert!(
                made.to_str()
                    .is_ok_and(|s| s.starts_with("abababababababab-")),
                "{bad:?}"
            );
        }
        let long = HeaderValue::from_str(&"a".repeat(MAX_REQUEST_ID_LEN + 1)).ok();
        assert_ne!(ids.of(long.as_ref()).len(), MAX_REQUEST_ID_LEN + 1);
        let just = HeaderValue::from_str(&"a".repeat(MAX_REQUEST_ID_LEN)).ok();
        assert_eq!(ids.of(just.as_ref()).len(), MAX_REQUEST_ID_LEN);
        // Made ids never repeat.
        assert_ne!(ids.of(None), ids.of(None));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let odd = Method::from_bytes(b"BREW").ok();
        assert_eq!(odd.as_ref().map(method_label), Some("other"));
    }
}
