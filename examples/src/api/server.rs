//! The accept loop. `axum::serve` has no header-read timeout and no connection limit, so the
//! router is served by hyper's HTTP/1 connection builder directly:
//!
//! - at most `max_connections` connections at once; past it a new connection is closed at
//!   accept (the process never runs out of file descriptors, and existing clients are not
//!   slowed down);
//! - a client must send each request's headers within `header_read_timeout` (this also
//!   closes keep-alive connections left idle that long): a slowloris client is cut off;
//! - each connection is a tracked child task of `HttpApi` (`Shutdown::spawn`); at stop a
//!   connection with no request in flight (idle, or a slowloris still sending headers) is
//!   closed at once; one with a request in flight gets hyper's graceful shutdown (the
//!   request completes, keep-alive ends) and is dropped after `drain_timeout`, so no client
//!   can lengthen the shutdown beyond it;
//! - accept errors (`EMFILE`) pause the loop briefly instead of failing the task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use lifecycle_core::Shutdown;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::config::AppConfig;

/// The server's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time connections get to finish at stop.
    pub drain_timeout: Duration,
}

impl From<&AppConfig> for Limits {
    fn from(c: &AppConfig) -> Self {
        Self {
            max_connections: c.max_connections.max(1),
            header_read_timeout: c.header_read_timeout,
            drain_timeout: c.drain_timeout,
        }
    }
}

/// Connection counters.
#[derive(Debug, Default)]
pub struct ServerStats {
    accepted: AtomicU64,
    refused: AtomicU64,
    closed: AtomicU64,
    errors: AtomicU64,
}

/// A snapshot of [`ServerStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServerSnapshot {
    /// Connections accepted since start.
    pub accepted: u64,
    /// Connections closed at accept because `max_connections` were open.
    pub refused: u64,
    /// Connections open now.
    pub open: u64,
    /// Connections that ended with an error (header timeout, protocol error).
    pub errors: u64,
}

impl ServerStats {
    /// The counters now.
    pub fn snapshot(&self) -> ServerSnapshot {
        let accepted = self.accepted.load(Ordering::Relaxed);
        ServerSnapshot {
            accepted,
            refused: self.refused.load(Ordering::Relaxed),
            open: accepted.saturating_sub(self.closed.load(Ordering::Relaxed)),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// Serves `app` on `listener` until `shutdown`; returns once it stopped accepting (the
/// connections still draining are child tasks the service's stop waits for).
pub async fn serve(
    listener: &TcpListener,
    app: Router,
    limits: Limits,
    stats: Arc<ServerStats>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors or a connection reset before accept: transient.
                tracing::warn!(error = %e, "accept failed; pausing 50 ms");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "connection limit reached: closing new connection");
            drop(stream);
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        // Requests in flight on this connection: at stop, a connection with none (idle, or
        // still receiving headers: slowloris) is closed at once instead of being drained.
        let in_flight = Arc::new(AtomicUsize::new(0));
        let service = {
            let app = app.clone();
            let in_flight = Arc::clone(&in_flight);
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let guard = InFlight::enter(&in_flight);
                let app = app.clone();
                async move {
                    let response = app.oneshot(req).await;
                    drop(guard);
                    response
                }
            })
        };
        let stop = shutdown.clone();
        let stats = Arc::clone(&stats);
        shutdown.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = stop.cancelled() => {
                    if in_flight.load(Ordering::Acquire) == 0 {
                        return finish(&stats, Ok(()), peer, slot);
                    }
                    conn.as_mut().graceful_shutdown();
                    match tokio::time::timeout(limits.drain_timeout, conn.as_mut()).await {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::debug!(%peer, "connection still busy after the drain timeout: closed");
                            Ok(())
                        }
                    }
                }
            };
            finish(&stats, result, peer, slot);
        });
    }
}

fn finish(
    stats: &ServerStats,
    result: Result<(), hyper::Error>,
    peer: std::net::SocketAddr,
    slot: tokio::sync::OwnedSemaphorePermit,
) {
    if let Err(e) = result {
        stats.errors.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
    stats.closed.fetch_add(1, Ordering::Relaxed);
    drop(slot);
}

/// Counts a request in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
