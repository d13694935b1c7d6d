//! [`RegistryHandle`]: the one cloneable handle to a registry, before, during and after its
//! run. It sends commands to the registry's control task and reads shared state; dropping
//! one (or any future it returned) never cancels anything.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::join_all;

use crate::control::RegistryPhase;
use crate::engine::{Engine, StartupReport};
use crate::events::{Event, ServiceIndex};
use crate::{Health, HealthReport, RegistryStopReport, RunError, ServiceHealth, ServiceId, State};

/// A cloneable handle to a registry: stop it, watch it, check its health. Usable before
/// start-up (a stop then means the registry never starts), from HTTP endpoints, signal
/// handlers and from the registry's own tasks.
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
/// let handle = running.handle();
/// assert_eq!(handle.state(db.index()), Some(State::Running));
/// // Every caller gets the same report; dropping a caller's future cancels nothing.
/// let (a, b) = tokio::join!(handle.stop(), running.stop());
/// assert!(Arc::ptr_eq(&a, &b) && a.is_clean());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RegistryHandle {
    pub(crate) engine: Arc<Engine>,
    registry: u64,
}

impl std::fmt::Debug for RegistryHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryHandle")
            .field("services", &self.states())
            .finish_non_exhaustive()
    }
}

/// `Ok` for a clean stop; the stop report inside an error otherwise.
pub(crate) fn outcome(
    report: Arc<RegistryStopReport>,
) -> Result<Arc<RegistryStopReport>, RunError> {
    if let Some(error) = report.escalated.clone() {
        Err(RunError::Escalated { error, report })
    } else if report.is_clean() {
        Ok(report)
    } else {
        Err(RunError::Unclean(report))
    }
}

impl RegistryHandle {
    pub(crate) fn new(engine: Arc<Engine>, registry: u64) -> Self {
        Self { engine, registry }
    }

    /// Graceful stop, once: drain (see
    /// [`RegistryOptions::drain_delay`](crate::RegistryOptions::drain_delay)), then reverse
    /// dependency order, bounded by `shutdown_timeout`. Concurrent and later callers get the
    /// same report. The stop runs in the registry's control task: dropping this future stops
    /// nothing less and repeats nothing. Before start-up it means the registry never starts;
    /// during start-up it cancels the start (which rolls back).
    ///
    /// From inside the registry's own tasks and hooks, prefer
    /// [`Shutdown::request_stop`](crate::Shutdown::request_stop) (returns at once): awaiting
    /// `stop()` there also completes, but only after the awaiting task was cut at its
    /// service's `stop_timeout` (or the hook at its `hook_timeout`).
    pub async fn stop(&self) -> Arc<RegistryStopReport> {
        self.engine.request_stop(false);
        self.engine.stopped().await
    }

    /// Requests a graceful stop and returns at once; [`wait`](Self::wait) for its outcome.
    pub fn request_stop(&self) {
        self.engine.request_stop(false);
    }

    /// Completes when the registry has stopped, whoever stopped it: `Ok` for a clean stop,
    /// [`RunError::Escalated`] when a service's failure shut it down, [`RunError::Unclean`]
    /// when tasks had to be aborted or something failed during the stop.
    pub async fn wait(&self) -> Result<Arc<RegistryStopReport>, RunError> {
        outcome(self.engine.stopped().await)
    }

    /// Whether the registry has stopped (or was aborted).
    pub fn is_stopped(&self) -> bool {
        self.engine.stopped.is_cancelled()
    }

    /// Whether a stop was requested (draining, stopping or stopped): readiness is off.
    pub fn is_stopping(&self) -> bool {
        self.engine.draining.is_cancelled()
    }

    /// Whether the registry is in its lame-duck drain: a stop was requested and the ordered
    /// stop has not begun yet.
    pub fn is_draining(&self) -> bool {
        self.engine.phase() == RegistryPhase::Draining
    }

    /// Whether start-up finished (and the registry has not stopped since it began).
    pub fn is_started(&self) -> bool {
        self.engine.startup_finished()
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
        self.engine
            .nodes
            .iter()
            .map(|n| (n.name.to_string(), n.state.get()))
            .collect()
    }

    /// A service's name, by index.
    pub fn service_name(&self, service: ServiceIndex) -> Option<&str> {
        self.engine.nodes.get(service as usize).map(|n| &*n.name)
    }

    /// The number of services.
    pub fn len(&self) -> usize {
        self.engine.nodes.len()
    }

    /// Whether there are no services.
    pub fn is_empty(&self) -> bool {
        self.engine.nodes.is_empty()
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

    /// Subscribes to the registry-wide event stream (subscribe before start-up to see it all).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.engine.events.subscribe()
    }

    /// Start-up timings and the critical path (empty before start-up finished).
    pub fn startup_report(&self) -> StartupReport {
        self.engine.startup_report()
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

    /// Runs every Running service's health check concurrently, each bounded by the
    /// registry's health timeout; a check that hangs or panics is unhealthy. While a stop is
    /// requested (the drain included) the registry is not ready.
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
        let mut report = HealthReport::from_services(join_all(checks).await);
        if self.is_stopping() {
            report.draining = true;
            report.ready = false;
        }
        report
    }
}
