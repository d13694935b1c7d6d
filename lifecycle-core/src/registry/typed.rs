//! The typed front that `#[derive(Registry)]` generates code against: one [`Provide`] impl
//! per field (O(1) lookups, no HList), construction from dependencies with cycle detection,
//! and typed access to the running services.

use std::ops::Deref;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, StartupReport};
use crate::events::{Event, ServiceIndex};
use crate::{
    BuildError, HealthReport, RegistryHandle, RegistryStopReport, RunError, ServiceId, StartError,
    State,
};

/// A compile-time composition of services and values. Implemented by `#[derive(Registry)]`.
pub trait Registry: Sized + 'static {
    /// The registry's name, for messages.
    const NAME: &'static str;
    /// Per-field construction slots (generated).
    type Slots;
    /// The services and values, each as an `Arc`, as the running registry exposes them.
    type Services: 'static;
}

/// `Self` (a registry) has a field that provides `T`. One impl per field, generated.
#[diagnostic::on_unimplemented(
    message = "the registry `{Self}` has no field that provides `{T}`",
    label = "`{T}` is required here but missing from `{Self}`",
    note = "add a field of type `{T}` to `{Self}`; for a trait object, put `#[provide(dyn Trait)]` on the field whose type implements it"
)]
pub trait Provide<T: ?Sized + 'static>: Registry {
    /// Builds (once) or returns the shared instance.
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<T>, BuildError>;
}

/// A service that can be built from the registry `R`'s other fields.
/// `#[derive(Service)]` implements it, bounding `R` by one `Provide` per `#[depends_on]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from the registry `{R}`",
    label = "`{Self}` is not constructible from its dependencies",
    note = "derive `Service` for `{Self}`, implement `FromRegistry` by hand, or mark the field `#[instance]` and pass it to the builder"
)]
pub trait FromRegistry<R: Registry>: Sized {
    /// Builds `Self`, asking `cx` for each dependency.
    fn from_registry(cx: &mut Resolver<R>) -> Result<Self, BuildError>;
}

/// One field's construction state.
#[derive(Debug, Default)]
pub enum Slot<T> {
    /// Not given; build from dependencies when first needed.
    #[default]
    Empty,
    /// Given to the builder.
    Supplied(T),
    /// Being built (seeing it again means a cycle).
    Building,
    /// Built and shared.
    Built(Arc<T>),
}

impl<T> From<Option<T>> for Slot<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Slot::Empty, Slot::Supplied)
    }
}

/// Builds a registry's fields in dependency order, on demand, detecting cycles.
pub struct Resolver<R: Registry> {
    slots: R::Slots,
    stack: Vec<&'static str>,
}

impl<R: Registry> Resolver<R> {
    /// A resolver over the given slots.
    pub fn new(slots: R::Slots) -> Self {
        Self {
            slots,
            stack: Vec::new(),
        }
    }

    /// The shared instance of `T`, building it (and its dependencies) if needed.
    pub fn get<T: ?Sized + 'static>(&mut self) -> Result<Arc<T>, BuildError>
    where
        R: Provide<T>,
    {
        R::provide(self)
    }

    /// Resolves one field: returns it if built, wraps a supplied instance, or builds it with
    /// `build`, reporting a cycle with its path.
    pub fn resolve<T: Send + Sync + 'static>(
        &mut self,
        field: &'static str,
        slot: fn(&mut R::Slots) -> &mut Slot<T>,
        build: fn(&mut Self) -> Result<T, BuildError>,
    ) -> Result<Arc<T>, BuildError> {
        match std::mem::replace(slot(&mut self.slots), Slot::Building) {
            Slot::Built(shared) => {
                *slot(&mut self.slots) = Slot::Built(Arc::clone(&shared));
                Ok(shared)
            }
            Slot::Supplied(value) => {
                let shared = Arc::new(value);
                *slot(&mut self.slots) = Slot::Built(Arc::clone(&shared));
                Ok(shared)
            }
            Slot::Building => {
                let start = self.stack.iter().position(|f| *f == field).unwrap_or(0);
                let mut path: Vec<String> = self.stack[start..]
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect();
                path.push(field.to_owned());
                Err(BuildError::Cycle { path })
            }
            Slot::Empty => {
                self.stack.push(field);
                let built = build(self);
                self.stack.pop();
                match built {
                    Ok(value) => {
                        let shared = Arc::new(value);
                        *slot(&mut self.slots) = Slot::Built(Arc::clone(&shared));
                        Ok(shared)
                    }
                    Err(e) => {
                        *slot(&mut self.slots) = Slot::Empty;
                        Err(e)
                    }
                }
            }
        }
    }

    /// The error for a field that must be supplied to the builder.
    pub fn missing_instance(field: &'static str) -> BuildError {
        BuildError::MissingInstance {
            registry: R::NAME,
            field,
        }
    }
}

/// A registry that is built (wired, checked) but not started. `R` is your
/// `#[derive(Registry)]` struct, or [`DynRegistry`](crate::DynRegistry).
pub struct Built<R: Registry> {
    services: R::Services,
    handle: RegistryHandle,
}

impl<R: Registry> Built<R> {
    #[doc(hidden)]
    pub fn new(services: R::Services, inner: Built<crate::DynRegistry>) -> Self {
        Self {
            services,
            handle: inner.handle,
        }
    }

    pub(crate) fn from_engine(services: R::Services, engine: Arc<Engine>, registry: u64) -> Self {
        Self {
            services,
            handle: RegistryHandle::new(engine, registry),
        }
    }

    /// The services, typed, before start.
    pub fn services(&self) -> &R::Services {
        &self.services
    }

    /// A handle usable before start-up: for health endpoints that must exist before the
    /// registry runs, or to stop (which cancels a start in progress, or one not yet begun).
    pub fn handle(&self) -> RegistryHandle {
        self.handle.clone()
    }

    /// Starts every service in dependency order, independent ones concurrently. On the first
    /// failure (or an escalation during start-up), in-flight starts are dropped and started
    /// services stop in reverse order. Dropping this future before it finishes aborts
    /// everything it started.
    pub async fn start(self) -> Result<Running<R>, StartError> {
        self.start_until(&CancellationToken::new()).await
    }

    /// Like [`start`](Self::start), but cancelling `cancel` cancels start-up (and rolls
    /// back). An already-cancelled token starts nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use lifecycle_core::{CancellationToken, DynRegistry, Phase, Service};
    /// # struct Db;
    /// # impl Service for Db { const NAME: &'static str = "Db"; }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mut registry = DynRegistry::new();
    /// registry.add(Arc::new(Db));
    /// let cancel = CancellationToken::new();
    /// cancel.cancel();
    /// let error = registry.build().unwrap().start_until(&cancel).await.unwrap_err();
    /// assert_eq!(error.error.phase, Phase::Cancelled);
    /// # }
    /// ```
    pub async fn start_until(self, cancel: &CancellationToken) -> Result<Running<R>, StartError> {
        let engine = Arc::clone(&self.handle.engine);
        let (control, started) = engine.launch(cancel.clone())?;
        let mut guard = AbortOnDrop {
            engine: &engine,
            control: Some(control),
        };
        match started.await {
            Ok(Ok(())) => Ok(Running {
                services: self.services,
                handle: self.handle,
                control: guard.control.take(),
            }),
            Ok(Err(error)) => {
                guard.control = None;
                Err(error)
            }
            // The control task ended without answering: only a bug of ours can do that.
            Err(_) => Err(StartError {
                error: Arc::new(crate::ServiceError::new(
                    "registry",
                    crate::Phase::Cancelled,
                    "the registry's control task ended during start-up".into(),
                )),
                rollback: Vec::new(),
            }),
        }
    }

    /// Starts, then runs until `until` completes or the registry stops by itself (an
    /// escalation, a stop requested from inside), then stops gracefully. `until` completing
    /// during start-up cancels the start. See [`Running::run_until`] for the outcome.
    pub async fn run_until(
        self,
        until: impl Future<Output = ()>,
    ) -> Result<Arc<RegistryStopReport>, RunError> {
        super::run::run(self, super::run::Trigger::once(until)).await
    }

    /// Installs SIGINT/SIGTERM handlers (before start-up, so none is lost), starts, runs until
    /// a signal or until the registry stops by itself, then stops gracefully. A signal during
    /// start-up cancels it; a second signal skips the drain; a signal during the ordered stop
    /// aborts everything (hooks skipped) and returns [`RunError::ForcedShutdown`]. SIGHUP
    /// reloads ([`RegistryHandle::reload`]) and never stops the registry.
    ///
    /// Exit-code convention: `Ok` (clean stop) → 0; any `Err` → non-zero.
    #[cfg(feature = "signal")]
    pub async fn run_until_signal(self) -> Result<Arc<RegistryStopReport>, RunError> {
        let signals = crate::signal::Signals::install()?;
        super::run::run(
            self,
            super::run::Trigger::<std::future::Pending<()>>::Signals(signals),
        )
        .await
    }

    /// Subscribes to the event stream before start-up, to see every transition.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.handle.subscribe()
    }

    /// The number of services.
    pub fn len(&self) -> usize {
        self.handle.len()
    }

    /// Whether there are no services.
    pub fn is_empty(&self) -> bool {
        self.handle.is_empty()
    }

    /// The dependency graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        self.handle.to_dot()
    }

    /// The dependency graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        self.handle.to_mermaid()
    }

    /// The dependency graph as SVG; see [`RegistryHandle::to_svg`](crate::RegistryHandle::to_svg).
    pub fn to_svg(&self) -> String {
        self.handle.to_svg()
    }

    /// Every service's state (all New before start).
    pub fn states(&self) -> Vec<(String, State)> {
        self.handle.states()
    }
}

/// Aborts everything if a start is dropped half-way, so no task outlives a lost start future.
struct AbortOnDrop<'a> {
    engine: &'a Arc<Engine>,
    control: Option<JoinHandle<()>>,
}

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(control) = self.control.take() {
            control.abort();
            self.engine.abort_all("start dropped before it finished");
        }
    }
}

/// A started registry: an RAII guard that derefs to its services (`running.db` is an
/// `Arc<Database>`). [`stop`](Self::stop) is the graceful path; dropping it cancels every
/// token and requests abort of every task (from any thread, no hooks) and logs what was
/// still running.
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
pub struct Running<R: Registry> {
    services: R::Services,
    handle: RegistryHandle,
    control: Option<JoinHandle<()>>,
}

impl<R: Registry> Deref for Running<R> {
    type Target = R::Services;
    fn deref(&self) -> &R::Services {
        &self.services
    }
}

impl<R: Registry> std::fmt::Debug for Running<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("registry", &R::NAME)
            .field("services", &self.handle.states())
            .finish_non_exhaustive()
    }
}

impl<R: Registry> Drop for Running<R> {
    fn drop(&mut self) {
        if !self.handle.is_stopped() {
            self.handle
                .engine
                .abort_all("registry guard dropped without stop()");
        }
        if let Some(control) = self.control.take() {
            control.abort();
        }
    }
}

impl<R: Registry> Running<R> {
    /// A cloneable handle (for signal handlers, HTTP endpoints, other tasks).
    pub fn handle(&self) -> RegistryHandle {
        self.handle.clone()
    }

    /// Graceful stop: drain, then reverse dependency order, bounded by `shutdown_timeout`.
    /// Returns once no task of the registry is alive (blocking ones excepted, and reported).
    pub async fn stop(self) -> Arc<RegistryStopReport> {
        self.handle.stop().await
    }

    /// Completes when the registry stopped, whoever stopped it. See [`RegistryHandle::wait`].
    pub async fn wait(&self) -> Result<Arc<RegistryStopReport>, RunError> {
        self.handle.wait().await
    }

    /// Runs until `until` completes or the registry stops by itself (an escalation, a stop
    /// requested from inside a task), then stops gracefully. The outcome: `Ok` only for a
    /// clean stop; [`RunError::Escalated`] (report attached) when a service's failure shut
    /// the registry down; [`RunError::Unclean`] when tasks were aborted or something failed
    /// during the stop.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use lifecycle_core::{DynRegistry, Service};
    /// # struct Db;
    /// # impl Service for Db { const NAME: &'static str = "Db"; }
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut registry = DynRegistry::new();
    /// registry.add(Arc::new(Db));
    /// let running = registry.build()?.start().await?;
    /// let report = running
    ///     .run_until(tokio::time::sleep(std::time::Duration::from_secs(1)))
    ///     .await?;
    /// assert_eq!(report.stop_order(), ["Db"]);
    /// # Ok(()) }
    /// ```
    pub async fn run_until(
        self,
        until: impl Future<Output = ()>,
    ) -> Result<Arc<RegistryStopReport>, RunError> {
        super::run::run_started(self, super::run::Trigger::once(until)).await
    }

    /// Installs SIGINT/SIGTERM handlers, waits for a signal or until the registry stops by
    /// itself, then stops gracefully. Prefer [`Built::run_until_signal`], which installs the
    /// handlers before start-up. Same outcome and second-signal rules.
    #[cfg(feature = "signal")]
    pub async fn run_until_signal(self) -> Result<Arc<RegistryStopReport>, RunError> {
        let signals = crate::signal::Signals::install()?;
        super::run::run_started(
            self,
            super::run::Trigger::<std::future::Pending<()>>::Signals(signals),
        )
        .await
    }

    pub(crate) fn control_mut(&mut self) -> &mut Option<JoinHandle<()>> {
        &mut self.control
    }

    /// A service's state, by index. See [`RegistryHandle::state`].
    pub fn state(&self, service: ServiceIndex) -> Option<State> {
        self.handle.state(service)
    }

    /// Every service's name and state, in registration order.
    pub fn states(&self) -> Vec<(String, State)> {
        self.handle.states()
    }

    /// See [`RegistryHandle::health`].
    pub async fn health(&self) -> HealthReport {
        self.handle.health().await
    }

    /// The service behind `id` (a [`DynRegistry`](crate::DynRegistry) id).
    pub fn get<S: Send + Sync + 'static>(&self, id: ServiceId<S>) -> Option<Arc<S>> {
        self.handle.get(id)
    }

    /// A service's name, by index.
    pub fn service_name(&self, service: ServiceIndex) -> Option<&str> {
        self.handle.service_name(service)
    }

    /// Subscribes to the registry-wide event stream.
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

    /// The dependency graph as SVG; see [`RegistryHandle::to_svg`](crate::RegistryHandle::to_svg).
    pub fn to_svg(&self) -> String {
        self.handle.to_svg()
    }
}
