//! The type-erased engine: one graph of nodes (CSR arrays), the start and stop schedulers,
//! and the abort path of the RAII guard. Both registries build one of these; the registry's
//! control task (`crate::control`) drives it after start.

mod erased;
mod graph;
pub(crate) mod quiet;
mod report;
mod start;
mod stop;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use erased::ErasedService;
pub(crate) use graph::Graph;
pub use report::{RegistryStopReport, ServiceTiming, StartupReport, StopReport};
pub(crate) use stop::StopScheduler;

use crate::control::handover::{Handover, Outcome};
use crate::control::{Command, RegistryPhase};
use crate::error::TaskError;
use crate::events::{Event, EventSink, ServiceIndex};
use crate::task::Nanos;
use crate::{BoxError, Escalation, Phase, ServiceError, ServiceOptions, State, StateCell};

/// Locks a mutex, ignoring poisoning: our critical sections never leave data half-updated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Longer than any process lives (30 years, as tokio's own "far future"): every `Duration`
/// option is clamped to it before instant arithmetic, so `Duration::MAX` means "unbounded"
/// and never overflows.
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// `d`, or [`FAR`] if longer.
pub(crate) fn far_clamp(d: Duration) -> Duration {
    d.min(FAR)
}

/// `now + d`, saturating at 30 years from `now`.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    now + far_clamp(d)
}

/// A background task as the engine tracks it, for abort and for reports.
pub(crate) struct TaskEntry {
    /// The spec (name, restart policy), read by the task when a run fails.
    pub(crate) spec: crate::TaskSpec,
    pub(crate) abort: AbortHandle,
    /// For a blocking task: set while one of its runs is on the blocking pool.
    pub(crate) blocking: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Its status once it changed (failed, backed off, ended); `None`: running, no failure.
    pub(crate) record: Option<Box<crate::task::TaskRecord>>,
}

/// A service's options as the engine keeps them: 8-byte durations (a node per service).
pub(crate) struct NodeOptions {
    start_timeout: Nanos,
    stop_timeout: Nanos,
    hook_timeout: Nanos,
    pub(crate) escalation: Escalation,
    pub(crate) ready_in_backoff: bool,
    /// Boxed: most services have none, and a node is per service.
    pub(crate) restart: Option<Box<crate::ServiceRestart>>,
}

impl NodeOptions {
    fn new(options: ServiceOptions) -> Self {
        Self {
            // No bound is stored as the largest one and read back as none.
            start_timeout: Nanos::new(options.start_timeout.unwrap_or(Duration::MAX)),
            stop_timeout: Nanos::new(options.stop_timeout),
            hook_timeout: Nanos::new(options.hook_timeout),
            escalation: options.escalation,
            ready_in_backoff: options.ready_in_backoff,
            restart: options.restart.map(Box::new),
        }
    }

    /// `None` when unbounded (`None` or anything past [`FAR`]).
    pub(crate) fn start_timeout(&self) -> Option<Duration> {
        Some(self.start_timeout.get()).filter(|t| *t < FAR)
    }

    pub(crate) fn stop_timeout(&self) -> Duration {
        self.stop_timeout.get()
    }

    pub(crate) fn hook_timeout(&self) -> Duration {
        self.hook_timeout.get()
    }
}

/// What went wrong with a service: the failure that made it Failed, and failures during its
/// stop (which leave it Stopped but make its report not clean).
#[derive(Default)]
pub(crate) struct Failures {
    pub(crate) failed: Option<Arc<ServiceError>>,
    pub(crate) during_stop: Vec<Arc<ServiceError>>,
}

/// One service in the engine: everything about it in one allocation (the node array).
pub(crate) struct Node {
    pub(crate) name: Cow<'static, str>,
    pub(crate) service: Arc<dyn ErasedService>,
    pub(crate) options: NodeOptions,
    pub(crate) state: StateCell,
    /// This incarnation's token: replaced (never un-cancelled) when the service restarts;
    /// a task's [`Shutdown`](crate::Shutdown) holds the one it was spawned with.
    token: Mutex<CancellationToken>,
    pub(crate) tracker: TaskTracker,
    /// Inline for the usual one task: no allocation per service.
    pub(crate) tasks: Mutex<smallvec::SmallVec<[TaskEntry; 1]>>,
    /// Children spawned through `Shutdown` (unnamed and named, the whole tree).
    pub(crate) children: crate::task::ChildTree,
    pub(crate) failures: Mutex<Failures>,
    /// Its background tasks alive, and whether a stop waits for the last one to end.
    pub(crate) quiet: quiet::QuietClaim,
}

impl Node {
    pub(crate) fn new(
        name: Cow<'static, str>,
        service: Arc<dyn ErasedService>,
        options: ServiceOptions,
    ) -> Self {
        Self {
            name,
            service,
            options: NodeOptions::new(options),
            state: StateCell::new(),
            token: Mutex::new(CancellationToken::new()),
            tracker: TaskTracker::new(),
            tasks: Mutex::new(smallvec::SmallVec::new()),
            children: crate::task::ChildTree::default(),
            failures: Mutex::new(Failures::default()),
            quiet: quiet::QuietClaim::new(),
        }
    }

    /// This incarnation's token.
    pub(crate) fn token(&self) -> CancellationToken {
        lock(&self.token).clone()
    }

    /// Cancels this incarnation's token: its tasks see their service stopping.
    pub(crate) fn cancel(&self) {
        lock(&self.token).cancel();
    }

    /// A new incarnation, before a restart's `on_start`: a fresh token (cancelled at once if
    /// the registry was aborted meanwhile), the tracker reopened, the previous incarnation's
    /// task entries, children and failures dropped. Only the control task calls it, for a
    /// service whose stop has finished.
    pub(crate) fn renew(&self, aborted: &std::sync::atomic::AtomicBool) {
        {
            let mut token = lock(&self.token);
            *token = CancellationToken::new();
            // Under the token's lock: `abort_all` sets the flag first, then cancels each
            // token under this lock, so either it cancels the new token or the flag is seen.
            if aborted.load(Ordering::SeqCst) {
                token.cancel();
            }
        }
        self.tracker.reopen();
        lock(&self.tasks).clear();
        self.children.reset();
        *lock(&self.failures) = Failures::default();
    }

    /// Requests abort of every task and child task; returns the names of tasks not yet finished.
    pub(crate) fn abort_tasks(&self) -> Vec<&'static str> {
        let mut unfinished = Vec::new();
        for entry in lock(&self.tasks).iter() {
            if !entry.abort.is_finished() {
                entry.abort.abort();
                unfinished.push(entry.spec.name);
            }
        }
        self.children.abort_all();
        unfinished
    }

    /// Child tasks not finished yet.
    pub(crate) fn children_alive(&self) -> usize {
        self.children.alive()
    }

    pub(crate) fn failure(&self) -> Option<Arc<ServiceError>> {
        lock(&self.failures).failed.clone()
    }

    /// Every task's status, in spawn order.
    pub(crate) fn task_statuses(&self) -> Vec<crate::task::TaskStatus> {
        lock(&self.tasks)
            .iter()
            .map(|e| {
                crate::task::TaskRecord::status(
                    e.record.as_deref(),
                    e.spec.name,
                    e.abort.is_finished(),
                )
            })
            .collect()
    }

    /// Updates one task's status (cold path: a failure, a backoff, an end).
    pub(crate) fn update_task(&self, task: u32, f: impl FnOnce(&mut crate::task::TaskRecord)) {
        if let Some(entry) = lock(&self.tasks).get_mut(task as usize) {
            f(entry.record.get_or_insert_with(Default::default));
        }
    }
}

/// Registry-wide settings. Every `Duration` accepts `Duration::MAX` as "unbounded".
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::RegistryOptions;
/// let opts = RegistryOptions::default()
///     .shutdown_timeout(Duration::from_secs(10))
///     .drain_delay(Duration::from_secs(5))
///     .seed(42);
/// assert_eq!(opts.get_shutdown_timeout(), Duration::from_secs(10));
/// assert_eq!(opts.get_drain_delay(), Duration::from_secs(5));
/// ```
#[derive(Clone)]
pub struct RegistryOptions {
    pub(crate) shutdown_timeout: Duration,
    pub(crate) drain_delay: Duration,
    pub(crate) seed: u64,
    pub(crate) health_timeout: Duration,
    pub(crate) event_capacity: usize,
    pub(crate) observers: Vec<crate::events::Observer>,
    pub(crate) stop_when_idle: bool,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("drain_delay", &self.drain_delay)
            .field("seed", &self.seed)
            .field("health_timeout", &self.health_timeout)
            .field("event_capacity", &self.event_capacity)
            .field("observers", &self.observers.len())
            .field("stop_when_idle", &self.stop_when_idle)
            .finish()
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            // Leaves 5 s of Kubernetes' default 30 s grace period for the process to exit.
            shutdown_timeout: Duration::from_secs(25),
            drain_delay: Duration::ZERO,
            seed: fastrand::u64(..),
            health_timeout: crate::health::DEFAULT_HEALTH_TIMEOUT,
            event_capacity: 1024,
            observers: Vec::new(),
            stop_when_idle: false,
        }
    }
}

impl RegistryOptions {
    /// Bound on the whole registry's stop (the drain included), whatever the graph depth.
    /// Default 25 s.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The registry-wide stop bound.
    pub fn get_shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Lame-duck drain: when a stop is requested, readiness turns off at once
    /// ([`Event::Draining`], [`Shutdown::draining`](crate::Shutdown::draining)) and the ordered
    /// stop begins only after this delay, inside `shutdown_timeout`. Default 0.
    ///
    /// Behind a Kubernetes Service, use a few seconds (5 s is common): the endpoint controller
    /// and every node's kube-proxy learn that the pod is terminating only after SIGTERM was
    /// sent, and keep routing new connections to it until then. A second signal skips the
    /// drain; an escalation does not drain.
    #[must_use]
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// The drain delay.
    pub fn get_drain_delay(&self) -> Duration {
        self.drain_delay
    }

    /// A program that ends when its work is done: once start-up finished, the registry stops
    /// gracefully as soon as no background task of any service is running any more (each
    /// returned and was not restarted). A registry without tasks stops right after start-up.
    /// Default `false`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use lifecycle_core::{DynRegistry, RegistryOptions, Service, TaskSpawner, TaskSpec};
    /// struct Import;
    /// impl Service for Import {
    ///     const NAME: &'static str = "Import";
    ///     fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
    ///         tasks.spawn(TaskSpec::new("load"), |_| async { /* the work */ });
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mut registry = DynRegistry::with_options(RegistryOptions::default().stop_when_idle(true));
    /// registry.add(Arc::new(Import));
    /// let report = registry.build().unwrap().run_until(std::future::pending()).await.unwrap();
    /// assert!(report.is_clean());
    /// # }
    /// ```
    #[must_use]
    pub fn stop_when_idle(mut self, stop: bool) -> Self {
        self.stop_when_idle = stop;
        self
    }

    /// Seed for backoff jitter (random by default); fix it to make restart schedules repeatable.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Bound on each health check. Default 2 s.
    #[must_use]
    pub fn health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = timeout;
        self
    }

    /// Capacity of the event stream; slow subscribers lag past it. Default 1024.
    #[must_use]
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// Adds a synchronous observer called for every event, in order, without loss. The
    /// second argument is the service's name (`"registry"` for registry-wide events).
    #[must_use]
    pub fn observe(mut self, observer: impl Fn(&Event, &str) + Send + Sync + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }
}

/// Start-up timings as offsets from the beginning of start-up, per service.
pub(crate) struct StartupRecord {
    pub(crate) total: Duration,
    pub(crate) offsets: Box<[(Nanos, Nanos)]>,
    pub(crate) order: Box<[ServiceIndex]>,
}

pub(crate) struct Engine {
    pub(crate) nodes: Box<[Node]>,
    pub(crate) graph: Graph,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) drain_delay: Duration,
    pub(crate) health_timeout: Duration,
    pub(crate) seed: u64,
    pub(crate) events: EventSink,
    /// Commands to the control task (buffered before it runs).
    pub(crate) commands: tokio::sync::mpsc::UnboundedSender<Command>,
    /// Whether the control task runs, and its receiver until it does.
    pub(crate) control: Handover<tokio::sync::mpsc::UnboundedReceiver<Command>>,
    /// Registry-level phase, written by the control task (and by a stop before start).
    pub(crate) phase: AtomicU8,
    /// The one stop report, set once, before `stopped` is cancelled.
    pub(crate) outcome: Outcome<RegistryStopReport>,
    /// Cancelled when the registry has fully stopped (or was aborted).
    pub(crate) stopped: CancellationToken,
    /// Cancelled when a stop was requested (the drain began).
    pub(crate) draining: CancellationToken,
    pub(crate) startup: Mutex<Option<StartupRecord>>,
    /// Background tasks whose supervisor loop is still running.
    live_tasks: std::sync::atomic::AtomicUsize,
    /// Hook-less services whose last task ended while their stop waited for it (see
    /// [`quiet`]); the stop scheduler takes them, woken through `quiet_waker`.
    pub(crate) quiet: Mutex<Vec<ServiceIndex>>,
    /// The control task while its stop scheduler waits for such services.
    pub(crate) quiet_waker: futures_util::task::AtomicWaker,
    pub(crate) stop_when_idle: bool,
    /// Set first thing by [`abort_all`](Self::abort_all): a restart racing it cancels the
    /// token it creates.
    pub(crate) aborted: std::sync::atomic::AtomicBool,
    /// Set by the control task while a restart, stop or start of a set runs: its tasks
    /// ending then does not make a `stop_when_idle` registry idle.
    pub(crate) administering: std::sync::atomic::AtomicBool,
}

/// Counts a background task as live, in its service and in the registry, from its spawn
/// until it is dropped (it returned, or was aborted). Dropped last of everything the task
/// owns, after its tracker token (see `task::supervisor::TaskParts`): a service whose last
/// task it was has an empty tracker unless children or blocking runs still hold it.
pub(crate) struct LiveTask {
    engine: Arc<Engine>,
    service: ServiceIndex,
}

impl Drop for LiveTask {
    fn drop(&mut self) {
        let engine = &self.engine;
        if engine.node(self.service).quiet.task_ended() {
            // The last task of a service whose stop waits for it: hand the stop on.
            lock(&engine.quiet).push(self.service);
            engine.quiet_waker.wake();
        }
        if engine.live_tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            engine.maybe_idle();
        }
    }
}

impl Engine {
    pub(crate) fn new(nodes: Vec<Node>, graph: Graph, options: RegistryOptions) -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            nodes: nodes.into_boxed_slice(),
            graph,
            shutdown_timeout: options.shutdown_timeout,
            drain_delay: options.drain_delay,
            health_timeout: options.health_timeout,
            seed: options.seed,
            events: EventSink::new(options.event_capacity, options.observers),
            commands: tx,
            control: Handover::new(rx),
            phase: AtomicU8::new(RegistryPhase::Built as u8),
            outcome: Outcome::default(),
            stopped: CancellationToken::new(),
            draining: CancellationToken::new(),
            startup: Mutex::new(None),
            live_tasks: std::sync::atomic::AtomicUsize::new(0),
            quiet: Mutex::new(Vec::new()),
            quiet_waker: futures_util::task::AtomicWaker::new(),
            stop_when_idle: options.stop_when_idle,
            aborted: std::sync::atomic::AtomicBool::new(false),
            administering: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn task_began(self: &Arc<Self>, service: ServiceIndex) -> LiveTask {
        self.node(service).quiet.task_began();
        self.live_tasks.fetch_add(1, Ordering::AcqRel);
        LiveTask {
            engine: Arc::clone(self),
            service,
        }
    }

    /// With `stop_when_idle`: no task runs any more after start-up, so stop.
    pub(crate) fn maybe_idle(&self) {
        if self.stop_when_idle
            && self.phase() == RegistryPhase::Running
            && !self.administering.load(Ordering::Acquire)
            && self.live_tasks.load(Ordering::Acquire) == 0
        {
            tracing::info!("every task finished: stopping the registry");
            self.request_stop(false);
        }
    }

    pub(crate) fn node(&self, index: ServiceIndex) -> &Node {
        &self.nodes[index as usize]
    }

    pub(crate) fn phase(&self) -> RegistryPhase {
        RegistryPhase::from_u8(self.phase.load(Ordering::Acquire))
    }

    pub(crate) fn set_phase(&self, phase: RegistryPhase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Emits a service's event with its name.
    pub(crate) fn emit_service(&self, index: ServiceIndex, event: Event) {
        self.events.emit(event, &self.node(index).name);
    }

    /// Emits a registry-wide event.
    pub(crate) fn emit_registry(&self, event: Event) {
        self.events.emit(event, "registry");
    }

    /// Moves a service to `to` if legal, emitting the event. Returns whether it moved.
    pub(crate) fn set_state(&self, index: ServiceIndex, to: State) -> bool {
        match self.node(index).state.transition(to) {
            Ok(from) => {
                tracing::debug!(service = %self.node(index).name, %from, %to, "state");
                self.emit_service(
                    index,
                    Event::State {
                        service: index,
                        from,
                        to,
                    },
                );
                true
            }
            Err(_) => false,
        }
    }

    /// A task failed past its policy: record the failure (the task's own error as the source)
    /// and hand the service to the control task. Never awaits anything (the caller is a task).
    pub(crate) fn escalate(
        &self,
        index: ServiceIndex,
        task: &'static str,
        error: BoxError,
    ) -> Option<Arc<ServiceError>> {
        let node = self.node(index);
        tracing::error!(service = %node.name, task, error = %error, "task failed past its restart policy");
        let failure = ServiceError::new(
            node.name.to_string(),
            Phase::Task,
            Box::new(TaskError {
                task,
                source: error,
            }),
        );
        let failure = Arc::new(failure);
        {
            let mut failures = lock(&node.failures);
            if let Some(first) = &failures.failed {
                return Some(Arc::clone(first));
            }
            failures.failed = Some(Arc::clone(&failure));
        }
        self.emit_service(
            index,
            Event::Escalated {
                service: index,
                task,
            },
        );
        let _ = self.commands.send(Command::Escalate(index));
        Some(failure)
    }

    /// A task failed while its service was stopping: not restarted, listed in the report.
    pub(crate) fn failed_during_stop(
        &self,
        index: ServiceIndex,
        task: &'static str,
        error: BoxError,
    ) -> Arc<ServiceError> {
        let node = self.node(index);
        let failure = Arc::new(ServiceError::new(
            node.name.to_string(),
            Phase::Stop,
            Box::new(TaskError {
                task,
                source: error,
            }),
        ));
        lock(&node.failures).during_stop.push(Arc::clone(&failure));
        failure
    }

    /// The RAII path: cancel every token and request abort of every task, from any thread.
    /// Hooks do not run. Logs what is still running. Publishes an aborted report if none.
    pub(crate) fn abort_all(&self, why: &str) {
        let mut still_running = Vec::new();
        self.aborted.store(true, Ordering::SeqCst);
        for (i, node) in self.nodes.iter().enumerate() {
            node.cancel();
            still_running.extend(
                node.abort_tasks()
                    .into_iter()
                    .map(|task| format!("{}::{task}", node.name)),
            );
            if node.state.get() != State::New && !node.state.get().is_terminal() {
                self.set_state(i as ServiceIndex, State::Stopping);
                self.set_state(i as ServiceIndex, State::Stopped);
            }
        }
        if !still_running.is_empty() {
            tracing::warn!(
                ?still_running,
                "{why}: abort requested for tasks still running; stop hooks skipped"
            );
        }
        self.control.finish();
        self.publish(RegistryStopReport::aborted());
    }

    /// Publishes the one stop outcome (the first wins) and wakes every waiter.
    pub(crate) fn publish(&self, report: RegistryStopReport) {
        self.outcome.publish(report);
        self.set_phase(RegistryPhase::Stopped);
        self.draining.cancel();
        if !self.stopped.is_cancelled() {
            self.stopped.cancel();
            self.emit_registry(Event::Stopped);
        }
    }

    /// Waits for the registry to stop and returns its report.
    pub(crate) async fn stopped(&self) -> Arc<RegistryStopReport> {
        self.stopped.cancelled().await;
        self.outcome
            .get()
            .unwrap_or_else(|| Arc::new(RegistryStopReport::aborted()))
    }
}
