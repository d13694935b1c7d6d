//! `HttpApi`: the axum application served by hyper, run as a supervised background task that
//! shuts down gracefully through the service's `Shutdown` handle. The listener is bound in
//! `on_start`, so a port already in use fails start-up (and rolls it back) instead of a task
//! later.
//!
//! - [`routes`]: the router (the one place routes are added) and its handlers;
//! - [`error`]: the one JSON error shape and the extractors that produce it;
//! - [`server`]: the accept loop with its bounds (connections, header-read timeout, drain).

pub mod error;
pub mod routes;
pub mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use lifecycle_core::{RegistryHandle, Service, Shutdown};
use tokio::net::TcpListener;

use crate::cache::Cache;
use crate::config::AppConfig;
use crate::db::Database;
use crate::flags::FeatureFlags;
use crate::forecasts::Forecasts;
use crate::hub::WebSocketHub;
use crate::refresh::AutomatedRefresh;
use crate::scenarios::Scenarios;
pub use error::ApiError;
pub use routes::AppState;
pub use server::ServerStats;

/// What `/readyz` and `/lifecycle` read: the registry, attached before or after start-up.
#[derive(Clone)]
pub struct Introspection {
    /// The registry's handle (health, states, start-up report).
    pub handle: RegistryHandle,
    /// The dependency graph as Mermaid.
    pub mermaid: String,
}

/// The HTTP API service: depends on everything, so it starts last and stops first.
#[derive(Service)]
#[service(tasks)]
pub struct HttpApi {
    #[depends_on]
    config: Arc<AppConfig>,
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    cache: Arc<Cache>,
    #[depends_on]
    flags: Arc<FeatureFlags>,
    #[depends_on]
    refresh: Arc<AutomatedRefresh>,
    #[depends_on]
    hub: Arc<WebSocketHub>,
    #[depends_on]
    forecasts: Arc<Forecasts>,
    #[depends_on]
    scenarios: Arc<Scenarios>,
    /// Bound once and kept across restarts of the service (administration along the graph):
    /// while it restarts, new connections wait in the socket's backlog instead of being refused.
    listener: Mutex<Option<Arc<TcpListener>>>,
    local_addr: OnceLock<SocketAddr>,
    introspection: Arc<OnceLock<Introspection>>,
    stats: Arc<ServerStats>,
}

#[lifecycle_core::tasks]
impl HttpApi {
    /// The address it listens on, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr.get().copied()
    }

    /// Gives `/readyz` and `/lifecycle` the registry. Until then they answer 503.
    pub fn attach(&self, introspection: Introspection) {
        let _ = self.introspection.set(introspection);
    }

    /// Connection counters of the server.
    pub fn server_stats(&self) -> &ServerStats {
        &self.stats
    }

    /// The state every handler shares.
    pub fn state(&self) -> AppState {
        AppState {
            config: Arc::clone(&self.config),
            db: Arc::clone(&self.db),
            cache: Arc::clone(&self.cache),
            flags: Arc::clone(&self.flags),
            refresh: Arc::clone(&self.refresh),
            hub: Arc::clone(&self.hub),
            forecasts: Arc::clone(&self.forecasts),
            scenarios: Arc::clone(&self.scenarios),
            introspection: Arc::clone(&self.introspection),
            server: Arc::clone(&self.stats),
        }
    }

    /// Binds the listener: a port in use fails start-up, which is rolled back. Re-runnable: a
    /// restarted service keeps the listener it has.
    #[on_start]
    async fn bind(&self) -> anyhow::Result<()> {
        if self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
        {
            return Ok(());
        }
        let listener = TcpListener::bind(self.config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.config.listen))?;
        let addr = listener.local_addr()?;
        let _ = self.local_addr.set(addr);
        *self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(listener));
        tracing::info!(%addr, "bound HTTP listener");
        Ok(())
    }

    /// Closes the listener when the registry itself stops (new connections are refused from
    /// then on); an operator restart of the API keeps it, so connections wait in its backlog.
    #[on_stop]
    async fn close_listener(&self) {
        let registry_stopping = Shutdown::current().is_none_or(|s| s.is_draining());
        if registry_stopping {
            drop(
                self.listener
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take(),
            );
        }
    }

    /// The server until the service stops, then a graceful shutdown (no new connections,
    /// in-flight requests get `drain_timeout`). Supervised: a failure re-binds the same
    /// address after a backoff.
    #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
    async fn serve(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        let kept = self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let listener = match kept {
            Some(l) => l,
            None => {
                let addr = self.local_addr().unwrap_or(self.config.listen);
                let listener = Arc::new(TcpListener::bind(addr).await?);
                *self
                    .listener
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(Arc::clone(&listener));
                listener
            }
        };
        let app = routes::app(self.state());
        server::serve(
            &listener,
            app,
            server::Limits::from(&*self.config),
            Arc::clone(&self.stats),
            shutdown,
        )
        .await?;
        tracing::info!("HTTP server stopped accepting; connections draining");
        Ok(())
    }
}
