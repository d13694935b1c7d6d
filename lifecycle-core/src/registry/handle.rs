//! [`RegistryHandle`]: the one cloneable handle to a registry, before, during and after its
//! run. It sends commands to the registry's control task and reads shared state; dropping
//! one (or any future it returned) never cancels anything.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::join_all;

use crate::control::admin::AdminRequest;
use crate::control::{Command, RegistryPhase};
use crate::engine::{Engine, StartupReport};
use crate::events::{Event, ServiceIndex};
use crate::task::{TaskState, TaskStatus};
use crate::{AdminAction, AdminError, AdminReport, ReloadReport, ServiceRef};
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

    /// Like [`request_stop`](Self::request_stop), with a reason: the first reason given is in
    /// the stop report ([`RegistryStopReport::reason`]).
    ///
    /// ```
    /// # async fn f(handle: lifecycle_core::RegistryHandle) {
    /// handle.request_stop_because("maintenance window");
    /// let report = handle.stop().await;
    /// assert_eq!(report.reason.as_ref().unwrap().reason.to_string(), "maintenance window");
    /// # }
    /// ```
    pub fn request_stop_because(&self, reason: impl Into<crate::BoxError>) {
        let reason = crate::StopReason::new(None, reason.into());
        self.engine.request_stop_because(false, Some(reason));
    }

    /// Restarts one service with everything that depends on it, transitively, while the rest
    /// keeps running: its dependents stop first (reverse dependency order, each within its own
    /// `stop_timeout`, the set within `shutdown_timeout`), then the set starts again in
    /// dependency order, independent services concurrently, each within its `start_timeout`.
    /// A stopped dependency of the service is started first. If a start fails, the started
    /// part of the set is stopped again (rolled back) and [`AdminError::Failed`] carries the
    /// error and the report; nothing else is touched. The failure does not escalate: the
    /// failed service stays Failed (liveness reports it) and the caller decides.
    ///
    /// The service object is reused (its dependents hold it behind `Arc`): `on_start` runs
    /// again on the same value, so it must be re-runnable (reset what the previous
    /// incarnation left). Each incarnation gets a fresh [`Shutdown`](crate::Shutdown) token
    /// and fresh tasks.
    ///
    /// Commands queue in the registry's control task and never interleave; dropping this
    /// future cancels nothing. A registry stop arriving first wins
    /// ([`AdminError::Interrupted`]): nothing restarts afterwards. Unknown names and ids of
    /// another registry are [`AdminError::UnknownService`]; before start-up finished or once
    /// a stop was requested, [`AdminError::NotRunning`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use lifecycle_core::{DynRegistry, Service};
    /// # struct Db;
    /// # impl Service for Db { const NAME: &'static str = "Db"; }
    /// # struct Api;
    /// # impl Service for Api { const NAME: &'static str = "Api"; }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut registry = DynRegistry::new();
    /// let db = registry.add(Arc::new(Db));
    /// let api = registry.add(Arc::new(Api));
    /// registry.depends_on(api, db)?;
    /// let running = registry.build()?.start().await?;
    /// let report = running.handle().restart(db).await?;
    /// assert_eq!(report.stop_order(), ["Api", "Db"]);
    /// assert_eq!(report.start_order(), ["Db", "Api"]);
    /// # running.stop().await;
    /// # Ok(()) }
    /// ```
    pub async fn restart(
        &self,
        service: impl Into<ServiceRef>,
    ) -> Result<Arc<AdminReport>, AdminError> {
        self.admin(AdminAction::Restart, service.into()).await
    }

    /// Stops one service and everything that depends on it, transitively (reverse dependency
    /// order, as in [`restart`](Self::restart)); the rest keeps running. Stopping a service
    /// that is already stopped is `Ok` (its report lists no stop). The registry's final
    /// [`RegistryStopReport`] does not list services stopped this way: their reports are here.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use lifecycle_core::{DynRegistry, Service, State};
    /// # struct Db;
    /// # impl Service for Db { const NAME: &'static str = "Db"; }
    /// # struct Api;
    /// # impl Service for Api { const NAME: &'static str = "Api"; }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut registry = DynRegistry::new();
    /// let db = registry.add(Arc::new(Db));
    /// let api = registry.add(Arc::new(Api));
    /// registry.depends_on(api, db)?;
    /// let running = registry.build()?.start().await?;
    /// let handle = running.handle();
    /// assert_eq!(handle.stop_service("Db").await?.stop_order(), ["Api", "Db"]);
    /// assert_eq!(handle.state(api.index()), Some(State::Stopped));
    /// assert_eq!(handle.start_service("Db").await?.start_order(), ["Db", "Api"]);
    /// # running.stop().await;
    /// # Ok(()) }
    /// ```
    pub async fn stop_service(
        &self,
        service: impl Into<ServiceRef>,
    ) -> Result<Arc<AdminReport>, AdminError> {
        self.admin(AdminAction::Stop, service.into()).await
    }

    /// Starts again a service stopped by [`stop_service`](Self::stop_service) (or failed):
    /// first its stopped transitive dependencies, then the service, then its stopped
    /// transitive dependents, in dependency order; a dependent whose other dependency is
    /// still stopped stays stopped (listed in [`AdminReport::not_started`]). Starting a
    /// running service starts only its stopped dependents. Rolls back like
    /// [`restart`](Self::restart). See [`stop_service`](Self::stop_service) for an example.
    pub async fn start_service(
        &self,
        service: impl Into<ServiceRef>,
    ) -> Result<Arc<AdminReport>, AdminError> {
        self.admin(AdminAction::Start, service.into()).await
    }

    /// Reloads every Running service that has an `on_reload` hook
    /// ([`Service::on_reload`](crate::Service::on_reload)): in dependency order (a service
    /// after its dependencies), independent ones concurrently, each bounded by its
    /// `hook_timeout`. Errors are reported per service and stop nothing. Runs in the control
    /// task, never interleaved with a restart; requests that arrive while one waits share it.
    /// `run_until_signal` calls it on SIGHUP.
    ///
    /// ```
    /// # async fn f(handle: lifecycle_core::RegistryHandle) -> Result<(), lifecycle_core::AdminError> {
    /// let report = handle.reload().await?;
    /// assert!(report.is_clean());
    /// # Ok(()) }
    /// ```
    pub async fn reload(&self) -> Result<Arc<ReloadReport>, AdminError> {
        if self.engine.phase() != RegistryPhase::Running {
            return Err(AdminError::NotRunning);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.engine
            .commands
            .send(Command::Reload(Some(reply)))
            .map_err(|_| AdminError::NotRunning)?;
        answer.await.unwrap_or(Err(AdminError::NotRunning))
    }

    /// Each background task of `service`: its name, whether it runs, waits in a restart
    /// backoff (until when), finished or failed, its restart count and its last error, for
    /// the service's current incarnation. Also in [`health`](Self::health).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use lifecycle_core::{DynRegistry, Service, TaskSpawner, TaskSpec, task::TaskState};
    /// # struct Poller;
    /// # impl Service for Poller {
    /// #     const NAME: &'static str = "Poller";
    /// #     fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
    /// #         tasks.spawn(TaskSpec::periodic("poll", Duration::from_secs(30)), |_| async {});
    /// #     }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mut registry = DynRegistry::new();
    /// # registry.add(Arc::new(Poller));
    /// let running = registry.build()?.start().await?;
    /// let tasks = running.handle().tasks("Poller")?;
    /// assert_eq!((tasks[0].name, tasks[0].state), ("poll", TaskState::Running));
    /// # running.stop().await;
    /// # Ok(()) }
    /// ```
    pub fn tasks(&self, service: impl Into<ServiceRef>) -> Result<Vec<TaskStatus>, AdminError> {
        let index = self.engine.resolve(&service.into(), self.registry)?;
        Ok(self.engine.node(index).task_statuses())
    }

    /// Requests a [`reload`](Self::reload) and returns at once (what SIGHUP does). Ignored
    /// unless the registry is running.
    ///
    /// ```
    /// # fn on_config_changed(handle: &lifecycle_core::RegistryHandle) {
    /// handle.request_reload(); // from a file watcher: the control task runs it
    /// # }
    /// ```
    pub fn request_reload(&self) {
        if self.engine.phase() == RegistryPhase::Running {
            let _ = self.engine.commands.send(Command::Reload(None));
        }
    }

    async fn admin(
        &self,
        action: AdminAction,
        service: ServiceRef,
    ) -> Result<Arc<AdminReport>, AdminError> {
        let target = self.engine.resolve(&service, self.registry)?;
        if self.engine.phase() != RegistryPhase::Running {
            return Err(AdminError::NotRunning);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = AdminRequest {
            action,
            target,
            reply: Some(reply),
            backoff: std::time::Duration::ZERO,
        };
        self.engine
            .commands
            .send(Command::Admin(request))
            .map_err(|_| AdminError::NotRunning)?;
        answer.await.unwrap_or(Err(AdminError::NotRunning))
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
            let tasks = node.task_statuses();
            // A service whose every live task waits in backoff does no work: not ready.
            let stuck = !tasks.is_empty()
                && tasks.iter().any(|t| t.state.is_alive())
                && tasks
                    .iter()
                    .filter(|t| t.state.is_alive())
                    .all(|t| matches!(t.state, TaskState::Backoff { .. }));
            let health = if stuck && health.is_healthy() && !node.options.ready_in_backoff {
                Health::unhealthy("every task is waiting in a restart backoff")
            } else {
                health
            };
            ServiceHealth {
                name: node.name.to_string(),
                state,
                health,
                tasks,
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
