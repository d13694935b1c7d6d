//! The running registry: an RAII guard. `stop().await` is the graceful path; dropping it
//! cancels every token and requests abort of every task.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::join_all;
use tokio::task::JoinHandle;

use crate::engine::{Engine, StartupReport};
use crate::events::{Event, ServiceIndex};
use crate::{Health, HealthReport, RegistryStopReport, RunError, ServiceHealth, ServiceId, State};

pub(crate) fn states(engine: &Engine) -> Vec<(String, State)> {
    engine
        .nodes
        .iter()
        .map(|n| (n.name.to_string(), n.state.get()))
        .collect()
}

/// A started registry. Stop it with [`stop`](Self::stop); dropping it aborts everything
/// (from any thread, no hooks) and logs what was still running.
///
/// ```
/// # use std::sync::Arc;
/// # use lifecycle_core::{DynRegistry, Service, State};
/// # struct Db;
/// # impl Service for Db { const NAME: &'static str = "Db"; }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut registry = DynRegistry::new();
/// let db = registry.add(Arc::new(Db));
/// let running = registry.build()?.start().await?;
/// assert_eq!(running.state(db.index()), Some(State::Running));
/// assert!(running.health().await.ready);
/// let report = running.stop().await;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
pub struct RunningRegistry {
    handle: RegistryHandle,
    control: Option<JoinHandle<()>>,
}

/// A cloneable handle to a running registry: stop it, watch it, check its health.
/// Every caller of [`stop`](Self::stop) gets the same report.
#[derive(Clone)]
pub struct RegistryHandle {
    engine: Arc<Engine>,
    registry: u64,
}

impl RunningRegistry {
    pub(crate) fn new(engine: Arc<Engine>, registry: u64) -> Self {
        let control = engine.spawn_control();
        Self {
            handle: RegistryHandle { engine, registry },
            control,
        }
    }

    /// A cloneable handle (for signal handlers, HTTP endpoints, other tasks).
    pub fn handle(&self) -> RegistryHandle {
        self.handle.clone()
    }

    /// Graceful stop: reverse dependency order, bounded by `shutdown_timeout`.
    /// Returns once no task of the registry is alive (blocking ones excepted, and reported).
    pub async fn stop(mut self) -> Arc<RegistryStopReport> {
        let report = self.handle.stop().await;
        if let Some(control) = self.control.take() {
            let _ = control.await;
        }
        report
    }

    /// Completes when the registry stopped by itself (a service escalated). Returns the
    /// escalation as an error.
    pub async fn wait(&self) -> Result<(), RunError> {
        self.handle.wait().await
    }

    /// Installs SIGINT/SIGTERM handlers, waits for a signal or an escalation, then stops
    /// gracefully. A second signal during the stop aborts everything and skips hooks.
    /// Prefer [`BuiltRegistry::run_until_signal`](crate::BuiltRegistry::run_until_signal),
    /// which installs the handlers before start-up.
    #[cfg(feature = "signal")]
    pub async fn run_until_signal(self) -> Result<Arc<RegistryStopReport>, RunError> {
        let signals = crate::signal::Signals::install()?;
        self.wait_for_signal_with(signals).await
    }

    #[cfg(feature = "signal")]
    pub(crate) async fn wait_for_signal_with(
        mut self,
        mut signals: crate::signal::Signals,
    ) -> Result<Arc<RegistryStopReport>, RunError> {
        tokio::select! {
            () = signals.recv() => tracing::info!("signal received: stopping"),
            () = self.handle.engine.stopped.cancelled() => {}
        }
        let engine = Arc::clone(&self.handle.engine);
        let stop = engine.stop_all();
        tokio::pin!(stop);
        let report = tokio::select! {
            report = &mut stop => report,
            () = signals.recv() => {
                engine.abort_all("second signal");
                return Err(RunError::ForcedShutdown);
            }
        };
        if let Some(control) = self.control.take() {
            let _ = control.await;
        }
        engine.escalation().map(|()| report)
    }

    /// See [`RegistryHandle::state`].
    pub fn state(&self, service: ServiceIndex) -> Option<State> {
        self.handle.state(service)
    }

    /// See [`RegistryHandle::states`].
    pub fn states(&self) -> Vec<(String, State)> {
        self.handle.states()
    }

    /// See [`RegistryHandle::health`].
    pub async fn health(&self) -> HealthReport {
        self.handle.health().await
    }

    /// See [`RegistryHandle::get`].
    pub fn get<S: Send + Sync + 'static>(&self, id: ServiceId<S>) -> Option<Arc<S>> {
        self.handle.get(id)
    }

    /// See [`RegistryHandle::service_name`].
    pub fn service_name(&self, service: ServiceIndex) -> Option<&str> {
        self.handle.service_name(service)
    }

    /// See [`RegistryHandle::subscribe`].
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.handle.subscribe()
    }

    /// Start-up timings and the critical path.
    pub fn startup_report(&self) -> StartupReport {
        self.handle.startup_report()
    }

    /// The dependency graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        self.handle.to_dot()
    }

    /// The dependency graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        self.handle.to_mermaid()
    }

    /// The dependency graph as SVG; see [`RegistryHandle::to_svg`].
    pub fn to_svg(&self) -> String {
        self.handle.to_svg()
    }
}

impl std::fmt::Debug for RunningRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningRegistry")
            .field("services", &self.states())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RegistryHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryHandle")
            .field("services", &self.states())
            .finish_non_exhaustive()
    }
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        if !self.handle.engine.is_stopped() {
            self.handle
                .engine
                .abort_all("registry guard dropped without stop()");
        }
        if let Some(control) = self.control.take() {
            control.abort();
        }
    }
}

impl RegistryHandle {
    pub(crate) fn new(engine: Arc<Engine>, registry: u64) -> Self {
        Self { engine, registry }
    }

    /// The dependency graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        crate::graph::to_dot(&self.engine)
    }

    /// The dependency graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        crate::graph::to_mermaid(&self.engine)
    }

    /// The dependency graph as a standalone SVG document with a layered layout: one column
    /// per depth (the longest dependency chain below a service), arrows to dependencies,
    /// each service a `<g class="service">` coloured by its current state. No script.
    ///
    /// ```
    /// # use lifecycle_core::{DynRegistry, Service};
    /// # use std::sync::Arc;
    /// # struct Db;
    /// # impl Service for Db { const NAME: &'static str = "Db"; }
    /// let mut registry = DynRegistry::new();
    /// registry.add(Arc::new(Db));
    /// let svg = registry.build()?.handle().to_svg();
    /// assert!(svg.contains(r#"data-name="Db""#));
    /// # Ok::<(), lifecycle_core::BuildError>(())
    /// ```
    pub fn to_svg(&self) -> String {
        crate::graph::to_svg(&self.engine)
    }

    /// Graceful stop, once; concurrent and later callers get the same report. Before or
    /// during start-up, it cancels the start.
    pub async fn stop(&self) -> Arc<RegistryStopReport> {
        self.engine.stop_all().await
    }

    /// Completes when the registry has stopped; an error if a service escalated.
    pub async fn wait(&self) -> Result<(), RunError> {
        self.engine.stopped.cancelled().await;
        self.engine.escalation()
    }

    /// Whether the registry has stopped (or was aborted).
    pub fn is_stopped(&self) -> bool {
        self.engine.stopped.is_cancelled()
    }

    /// A service's state, by index.
    pub fn state(&self, service: ServiceIndex) -> Option<State> {
        self.engine
            .nodes
            .get(service as usize)
            .map(|n| n.state.get())
    }

    /// Every service's name and state, in registration order.
    pub fn states(&self) -> Vec<(String, State)> {
        states(&self.engine)
    }

    /// A service's name, by index.
    pub fn service_name(&self, service: ServiceIndex) -> Option<&str> {
        self.engine.nodes.get(service as usize).map(|n| &*n.name)
    }

    /// The service behind `id`; `None` if the id belongs to another registry.
    pub fn get<S: Send + Sync + 'static>(&self, id: ServiceId<S>) -> Option<Arc<S>> {
        if id.registry() != self.registry {
            return None;
        }
        let node = self.engine.nodes.get(id.index() as usize)?;
        let any: Arc<dyn Any + Send + Sync> = Arc::clone(&node.service).into_any();
        any.downcast::<S>().ok()
    }

    /// Subscribes to the registry-wide event stream.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.engine.events.subscribe()
    }

    /// Start-up timings and the critical path.
    pub fn startup_report(&self) -> StartupReport {
        self.engine.startup_report()
    }

    /// Runs every Running service's health check concurrently, each bounded by the
    /// registry's health timeout; a check that hangs or panics is unhealthy.
    pub async fn health(&self) -> HealthReport {
        let timeout = self.engine.health_timeout;
        let checks = self.engine.nodes.iter().map(|node| async move {
            let state = node.state.get();
            let health = if state != State::Running {
                Health::unhealthy(format!("service is {state}"))
            } else if !node.service.has_health_check() {
                Health::Healthy
            } else {
                let check = AssertUnwindSafe(node.service.health_check()).catch_unwind();
                match tokio::time::timeout(timeout, check).await {
                    Ok(Ok(h)) => h,
                    Ok(Err(_)) => Health::unhealthy("health check panicked"),
                    Err(_) => {
                        Health::unhealthy(format!("health check timed out after {timeout:?}"))
                    }
                }
            };
            ServiceHealth {
                name: node.name.to_string(),
                state,
                health,
            }
        });
        HealthReport::from_services(join_all(checks).await)
    }
}
