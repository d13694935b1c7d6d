//! The type-erased engine: one graph of nodes (CSR arrays), the start and stop schedulers,
//! escalation, and the abort path of the RAII guard. Both registries build one of these.

mod erased;
mod graph;
mod report;
mod start;
mod stop;
mod stop_once;

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use erased::ErasedService;
pub(crate) use graph::Graph;
pub use report::{RegistryStopReport, ServiceTiming, StartupReport, StopReport};

use crate::events::{Event, EventSink, ServiceIndex};
use crate::task::Nanos;
use crate::{Escalation, Phase, ServiceError, ServiceOptions, State, StateCell};

/// Locks a mutex, ignoring poisoning: our critical sections never leave data half-updated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A background task as the engine tracks it, for abort and for reports.
pub(crate) struct TaskEntry {
    /// The spec (name, restart policy), read by the task when a run fails.
    pub(crate) spec: crate::TaskSpec,
    pub(crate) abort: AbortHandle,
    /// For a blocking task: set while one of its runs is on the blocking pool.
    pub(crate) blocking: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// A service's options as the engine keeps them: 8-byte durations (a node per service).
pub(crate) struct NodeOptions {
    start_timeout: Nanos,
    stop_timeout: Nanos,
    hook_timeout: Nanos,
    pub(crate) escalation: Escalation,
}

impl NodeOptions {
    fn new(options: ServiceOptions) -> Self {
        Self {
            // No bound is stored as the largest one and read back as none.
            start_timeout: Nanos::new(options.start_timeout.unwrap_or(Duration::MAX)),
            stop_timeout: Nanos::new(options.stop_timeout),
            hook_timeout: Nanos::new(options.hook_timeout),
            escalation: options.escalation,
        }
    }

    pub(crate) fn start_timeout(&self) -> Option<Duration> {
        Some(self.start_timeout)
            .filter(|t| *t != Nanos::new(Duration::MAX))
            .map(Nanos::get)
    }

    pub(crate) fn stop_timeout(&self) -> Duration {
        self.stop_timeout.get()
    }

    pub(crate) fn hook_timeout(&self) -> Duration {
        self.hook_timeout.get()
    }
}

/// One service in the engine: everything about it in one allocation (the node array).
pub(crate) struct Node {
    pub(crate) name: Cow<'static, str>,
    pub(crate) service: Arc<dyn ErasedService>,
    pub(crate) options: NodeOptions,
    pub(crate) state: StateCell,
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Inline for the usual one task: no allocation per service.
    pub(crate) tasks: Mutex<smallvec::SmallVec<[TaskEntry; 1]>>,
    /// Children spawned through `Shutdown` (unnamed and named, the whole tree).
    pub(crate) children: crate::task::ChildTree,
    pub(crate) failure: Mutex<Option<Arc<ServiceError>>>,
    pub(crate) stop_report: stop_once::StopOnce,
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
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            tasks: Mutex::new(smallvec::SmallVec::new()),
            children: crate::task::ChildTree::default(),
            failure: Mutex::new(None),
            stop_report: stop_once::StopOnce::default(),
        }
    }

    /// Requests abort of every task and child task; returns the names of tasks not yet finished.
    fn abort_tasks(&self) -> Vec<String> {
        let mut unfinished = Vec::new();
        for entry in lock(&self.tasks).iter() {
            if !entry.abort.is_finished() {
                entry.abort.abort();
                unfinished.push(entry.spec.name.to_string());
            }
        }
        self.children.abort_all();
        unfinished
    }

    fn children_alive(&self) -> usize {
        self.children.alive()
    }
}

/// Registry-wide settings.
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::RegistryOptions;
/// let opts = RegistryOptions::default().shutdown_timeout(Duration::from_secs(10)).seed(42);
/// assert_eq!(opts.get_shutdown_timeout(), Duration::from_secs(10));
/// ```
#[derive(Clone)]
pub struct RegistryOptions {
    pub(crate) shutdown_timeout: Duration,
    pub(crate) seed: u64,
    pub(crate) health_timeout: Duration,
    pub(crate) event_capacity: usize,
    pub(crate) observers: Vec<crate::events::Observer>,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("seed", &self.seed)
            .field("health_timeout", &self.health_timeout)
            .field("event_capacity", &self.event_capacity)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            // Leaves 5 s of Kubernetes' default 30 s grace period for the process to exit.
            shutdown_timeout: Duration::from_secs(25),
            seed: fastrand::u64(..),
            health_timeout: crate::health::DEFAULT_HEALTH_TIMEOUT,
            event_capacity: 1024,
            observers: Vec::new(),
        }
    }
}

impl RegistryOptions {
    /// Bound on the whole registry's stop, whatever the graph depth. Default 25 s.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The registry-wide stop bound.
    pub fn get_shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
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

    /// Adds a synchronous observer called for every event, in order, without loss.
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
    pub(crate) health_timeout: Duration,
    pub(crate) seed: u64,
    pub(crate) events: EventSink,
    escalations: mpsc::UnboundedSender<ServiceIndex>,
    escalation_rx: Mutex<Option<mpsc::UnboundedReceiver<ServiceIndex>>>,
    /// First service whose failure shut the registry down.
    pub(crate) escalated: Mutex<Option<Arc<ServiceError>>>,
    /// Cancelled when the registry has fully stopped.
    pub(crate) stopped: CancellationToken,
    stop_all: OnceCell<Arc<RegistryStopReport>>,
    pub(crate) startup: Mutex<Option<StartupRecord>>,
    /// Wakes those waiting for a service stop that someone else runs.
    pub(crate) stop_done: tokio::sync::Notify,
    /// Cancelled when a stop is requested: a start in progress (or not yet begun) is cancelled.
    pub(crate) stop_requested: CancellationToken,
    /// Held by `start` while it schedules, so a stop waits until the cancelled start has
    /// dropped its in-flight hooks (they get no `on_stop`).
    pub(crate) starting: tokio::sync::Mutex<()>,
}

impl Engine {
    pub(crate) fn new(nodes: Vec<Node>, graph: Graph, options: RegistryOptions) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            nodes: nodes.into_boxed_slice(),
            graph,
            shutdown_timeout: options.shutdown_timeout,
            health_timeout: options.health_timeout,
            seed: options.seed,
            events: EventSink::new(options.event_capacity, options.observers),
            escalations: tx,
            escalation_rx: Mutex::new(Some(rx)),
            escalated: Mutex::new(None),
            stopped: CancellationToken::new(),
            stop_all: OnceCell::new(),
            startup: Mutex::new(None),
            stop_done: tokio::sync::Notify::new(),
            stop_requested: CancellationToken::new(),
            starting: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn node(&self, index: ServiceIndex) -> &Node {
        &self.nodes[index as usize]
    }

    /// Moves a service to `to` if legal, emitting the event. Returns whether it moved.
    pub(crate) fn set_state(&self, index: ServiceIndex, to: State) -> bool {
        match self.node(index).state.transition(to) {
            Ok(from) => {
                tracing::debug!(service = %self.node(index).name, %from, %to, "state");
                self.events.emit(
                    Event::State {
                        service: index,
                        from,
                        to,
                    },
                    &self.node(index).name,
                );
                true
            }
            Err(_) => false,
        }
    }

    /// A task failed past its policy: mark the service failed and hand it to the control task.
    /// Never awaits the service's own stop (the caller is one of its tasks).
    pub(crate) fn escalate(&self, index: ServiceIndex, task: &str, error: crate::BoxError) {
        let node = self.node(index);
        tracing::error!(service = %node.name, task, error = %error, "task failed past its restart policy");
        let failure = Arc::new(ServiceError::new(
            node.name.to_string(),
            Phase::Task,
            format!("task `{task}`: {error}").into(),
        ));
        {
            let mut slot = lock(&node.failure);
            if slot.is_some() {
                return;
            }
            *slot = Some(failure);
        }
        let _ = self.escalations.send(index);
    }

    /// The control task: applies escalation policies until the registry stopped.
    pub(crate) fn spawn_control(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let mut rx = lock(&self.escalation_rx).take()?;
        let engine = Arc::clone(self);
        Some(tokio::spawn(async move {
            loop {
                let index = tokio::select! {
                    biased;
                    () = engine.stopped.cancelled() => return,
                    next = rx.recv() => match next { Some(i) => i, None => return },
                };
                match engine.node(index).options.escalation {
                    Escalation::ShutdownRegistry => {
                        {
                            let mut cause = lock(&engine.escalated);
                            if cause.is_none() {
                                *cause = lock(&engine.node(index).failure).clone();
                            }
                        }
                        engine.stop_all().await;
                        return;
                    }
                    Escalation::StopDependents => {
                        let set = engine.graph.dependents_closure(index);
                        let deadline = Instant::now() + engine.shutdown_timeout;
                        engine.stop_set(&set, deadline).await;
                    }
                }
            }
        }))
    }

    /// Graceful stop of everything, once; every caller gets the same report.
    pub(crate) async fn stop_all(self: &Arc<Self>) -> Arc<RegistryStopReport> {
        self.stop_requested.cancel();
        self.stop_all
            .get_or_init(|| async {
                // A start in progress sees the request, drops its in-flight hooks and releases this.
                drop(self.starting.lock().await);
                let began = Instant::now();
                let all = vec![true; self.nodes.len()];
                let services = self.stop_set(&all, began + self.shutdown_timeout).await;
                let report = RegistryStopReport {
                    duration: began.elapsed(),
                    services,
                    escalated: lock(&self.escalated).clone(),
                };
                self.stopped.cancel();
                Arc::new(report)
            })
            .await
            .clone()
    }

    /// `Err` naming the service whose failure shut the registry down, if one did.
    pub(crate) fn escalation(&self) -> Result<(), crate::RunError> {
        match lock(&self.escalated).as_ref() {
            Some(e) => Err(crate::RunError::Escalated(ServiceError::new(
                e.service.clone(),
                e.phase,
                e.source.to_string().into(),
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stop_all.initialized()
    }

    /// The RAII path: cancel every token and request abort of every task, from any thread.
    /// Hooks do not run. Logs what is still running.
    pub(crate) fn abort_all(&self, why: &str) {
        let mut still_running = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            node.token.cancel();
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
        self.stopped.cancel();
    }
}
