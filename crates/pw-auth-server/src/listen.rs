//! The accept loop: hyper's HTTP/1 connection with a timer (the header-read timeout,
//! which hyper also starts whenever a kept-alive connection goes idle), a cap on
//! connections in all and per client address, and a graceful shutdown with a
//! deadline, after which the connections still open are closed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use pw_auth_http::{ClientAddr, TrustedProxies};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::ConnectionLimits;
use crate::observe::{Observe, Observer};
use crate::wipe::Wipes;

/// The open connections per client key. An entry lives only while its client has a
/// connection open, so the map never holds more entries than there are connections
/// (at most [`ConnectionLimits::max_connections`]).
#[derive(Debug, Default)]
pub(crate) struct PerClient {
    open: Mutex<HashMap<String, usize>>,
}

/// One connection's place in its client's count, given back when dropped.
pub(crate) struct Slot {
    clients: Arc<PerClient>,
    key: String,
}

impl PerClient {
    /// Takes a place for `key` if it holds fewer than `cap` connections.
    pub(crate) fn take(self: &Arc<Self>, key: String, cap: usize) -> Option<Slot> {
        let mut open = self.lock();
        let n = open.entry(key.clone()).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n = n.saturating_add(1);
        Some(Slot {
            clients: Arc::clone(self),
            key,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many clients have a connection open.
    pub(crate) fn clients(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.clients.lock();
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` fires, then finishes what is in flight
/// for at most the shutdown grace and closes the rest.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted: TrustedProxies,
    clients: Arc<PerClient>,
    observer: Observer,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut tasks = JoinSet::new();
    loop {
        // At the cap, stop accepting: new connections wait in the kernel's backlog.
        let permit = tokio::select! {
            p = Arc::clone(&total).acquire_owned() => p.map_err(std::io::Error::other)?,
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait a little, go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        while tasks.try_join_next().is_some() {}
        let slot = if trusted.contains(peer.ip()) {
            None
        } else {
            let key = ClientAddr::new(peer.ip()).key();
            match clients.take(key, limits.max_connections_per_client) {
                Some(slot) => Some(slot),
                // Over its own cap: closed at once, without a word.
                None => continue,
            }
        };
        // Login bodies that hyper still shares, wiped once it lets go: at the latest
        // when this connection's task ends, after hyper's connection is dropped.
        let wipes = Arc::new(Wipes::default());
        let open = observer.metrics.connection_opened();
        let service = Observe::new(router.clone(), observer.clone()).map_request({
            let wipes = Arc::clone(&wipes);
            move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(Arc::clone(&wipes));
                request
            }
        });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tasks.spawn(async move {
            // The connection is moved into its await, which is dropped before
            // `wipes` — also when the task is aborted at the shutdown deadline — so
            // hyper's buffers are gone and the kept bodies unshared when they go.
            let _ = connection.await;
            drop(slot);
            drop(open);
            drop(permit);
            drop(wipes);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}
