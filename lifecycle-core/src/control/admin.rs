//! Administration along the graph: restart, stop or start one service with its transitive
//! dependents, run by the control task one at a time. What callers get back: an
//! [`AdminReport`], or an [`AdminError`].

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Run;
use crate::engine::{Engine, ServiceTiming, deadline_after};
use crate::events::{Event, ServiceIndex};
use crate::{Service, ServiceError, ServiceId, State, StopReport};

/// Which administrative transition.
///
/// ```
/// use lifecycle_core::AdminAction;
/// assert_eq!(AdminAction::Restart.to_string(), "restart");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AdminAction {
    /// Stop a service and its transitive dependents, then start them again.
    Restart,
    /// Stop a service and its transitive dependents.
    Stop,
    /// Start a stopped service (its stopped dependencies first), then its stopped dependents.
    Start,
}

impl std::fmt::Display for AdminAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AdminAction::Restart => "restart",
            AdminAction::Stop => "stop",
            AdminAction::Start => "start",
        })
    }
}

/// A service to administer: by [`ServiceId`] (checked to belong to the registry), by name, or
/// by type ([`ServiceRef::of`], for `#[derive(Registry)]` fields).
///
/// ```
/// use lifecycle_core::{Service, ServiceRef};
/// struct Db;
/// impl Service for Db { const NAME: &'static str = "Db"; }
/// assert_eq!(ServiceRef::of::<Db>(), ServiceRef::from("Db"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceRef {
    /// A [`DynRegistry`](crate::DynRegistry) id: its index and its registry.
    Id {
        /// The index in its registry.
        index: ServiceIndex,
        /// Which registry it was issued by.
        registry: u64,
    },
    /// A service's name as registered.
    Name(Cow<'static, str>),
}

impl ServiceRef {
    /// The service of type `S`, by its registered name ([`Service::name`]).
    pub fn of<S: Service>() -> Self {
        ServiceRef::Name(S::name())
    }
}

impl<S: ?Sized> From<ServiceId<S>> for ServiceRef {
    fn from(id: ServiceId<S>) -> Self {
        ServiceRef::Id {
            index: id.index(),
            registry: id.registry(),
        }
    }
}

impl From<&str> for ServiceRef {
    fn from(name: &str) -> Self {
        ServiceRef::Name(Cow::Owned(name.to_owned()))
    }
}

impl From<String> for ServiceRef {
    fn from(name: String) -> Self {
        ServiceRef::Name(Cow::Owned(name))
    }
}

impl std::fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceRef::Id { index, .. } => write!(f, "service #{index}"),
            ServiceRef::Name(name) => write!(f, "`{name}`"),
        }
    }
}

/// What an administrative transition did. Shared by the one caller (and, for automatic
/// restarts, logged).
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) -> Result<(), lifecycle_core::AdminError> {
/// let report = handle.restart("Database").await?;
/// println!("stopped {:?}, started {:?} in {:?}", report.stop_order(), report.start_order(), report.duration);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdminReport {
    /// What was asked.
    pub action: AdminAction,
    /// Of which service.
    pub service: Cow<'static, str>,
    /// Each service stopped, in stop order (reverse dependency order).
    pub stopped: Vec<StopReport>,
    /// Each service started, in the order it became Running; `began_after` counts from the
    /// beginning of the start phase.
    pub started: Vec<ServiceTiming>,
    /// Services of the set left stopped: a dependency outside the set was not Running.
    pub not_started: Vec<Cow<'static, str>>,
    /// The start failure that rolled the set back (phase, service, the hook's own error).
    pub error: Option<Arc<ServiceError>>,
    /// After a failed start: the set's started services, stopped again in reverse order.
    pub rolled_back: Vec<StopReport>,
    /// A registry stop arrived: the transition ended there and nothing restarts afterwards.
    pub interrupted: bool,
    /// From the moment the control task took the command to its end.
    pub duration: Duration,
}

impl AdminReport {
    pub(crate) fn new(action: AdminAction, service: Cow<'static, str>) -> Self {
        Self {
            action,
            service,
            stopped: Vec::new(),
            started: Vec::new(),
            not_started: Vec::new(),
            error: None,
            rolled_back: Vec::new(),
            interrupted: false,
            duration: Duration::ZERO,
        }
    }

    /// Service names in the order they stopped.
    pub fn stop_order(&self) -> Vec<&str> {
        self.stopped.iter().map(|s| &*s.service).collect()
    }

    /// Service names in the order they became Running.
    pub fn start_order(&self) -> Vec<&str> {
        self.started.iter().map(|s| &*s.service).collect()
    }

    /// Nothing failed, nothing was aborted or interrupted, nothing was left stopped.
    pub fn is_clean(&self) -> bool {
        self.error.is_none()
            && !self.interrupted
            && self.not_started.is_empty()
            && self.stopped.iter().all(|s| s.is_clean())
            && self.rolled_back.iter().all(|s| s.is_clean())
    }
}

/// Why an administrative command did not complete.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) {
/// use lifecycle_core::AdminError;
/// match handle.restart("Nope").await {
///     Err(AdminError::UnknownService(name)) => assert_eq!(name, "`Nope`"),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No such service in this registry (a name not registered, an id of another registry).
    #[error("no service {0} in this registry")]
    UnknownService(String),
    /// The registry is not running: start-up has not finished, or a stop was requested.
    #[error("the registry is not running: start-up has not finished or a stop was requested")]
    NotRunning,
    /// A start in the set failed: the set was rolled back (the report says what stopped).
    #[error("{} of `{}` failed and was rolled back: {error}", report.action, report.service)]
    Failed {
        /// The start failure (its source is the hook's own error).
        #[source]
        error: Arc<ServiceError>,
        /// What happened.
        report: Arc<AdminReport>,
    },
    /// A registry stop arrived first: it wins, nothing restarts afterwards.
    #[error("{} of `{}` interrupted by the registry's stop", report.action, report.service)]
    Interrupted {
        /// What happened before the stop.
        report: Arc<AdminReport>,
    },
}

impl AdminError {
    /// The report, when the command ran.
    pub fn report(&self) -> Option<&Arc<AdminReport>> {
        match self {
            AdminError::Failed { report, .. } | AdminError::Interrupted { report } => Some(report),
            _ => None,
        }
    }
}

pub(crate) type AdminOutcome = Result<Arc<AdminReport>, AdminError>;

/// An administrative command as the control task queues it.
#[derive(Debug)]
pub(crate) struct AdminRequest {
    pub(crate) action: AdminAction,
    pub(crate) target: ServiceIndex,
    /// `None` for an automatic restart (the service-level restart policy).
    pub(crate) reply: Option<oneshot::Sender<AdminOutcome>>,
    /// An automatic restart waits this long (its backoff) between stop and start.
    pub(crate) backoff: Duration,
}

impl Engine {
    /// The index behind `service`, or `UnknownService`.
    pub(crate) fn resolve(
        &self,
        service: &ServiceRef,
        registry: u64,
    ) -> Result<ServiceIndex, AdminError> {
        match service {
            ServiceRef::Id { index, registry: r }
                if *r == registry && (*index as usize) < self.nodes.len() =>
            {
                Ok(*index)
            }
            ServiceRef::Name(name) => self
                .nodes
                .iter()
                .position(|n| n.name == *name)
                .map(|i| i as ServiceIndex)
                .ok_or_else(|| AdminError::UnknownService(service.to_string())),
            ServiceRef::Id { .. } => Err(AdminError::UnknownService(service.to_string())),
        }
    }

    /// Which services a start of `target` starts, in no particular order (the start scheduler
    /// orders them): `target`'s stopped transitive dependencies, `target` if stopped, and its
    /// stopped transitive dependents, each only if all its dependencies are Running or in the
    /// set. The second list: candidates left stopped (a dependency outside the set is down).
    pub(crate) fn start_plan(
        &self,
        target: ServiceIndex,
    ) -> (Vec<ServiceIndex>, Vec<ServiceIndex>) {
        let n = self.nodes.len();
        let down = |i: ServiceIndex| {
            let s = self.node(i).state.get();
            s.is_terminal() || s == State::New
        };
        let mut candidate = self.graph.dependents_closure(target);
        // Stopped dependencies, through stopped ones only.
        let mut stack = vec![target];
        let mut seen = vec![false; n];
        while let Some(i) = stack.pop() {
            for &d in self.graph.deps(i) {
                if down(d) && !std::mem::replace(&mut seen[d as usize], true) {
                    candidate[d as usize] = true;
                    stack.push(d);
                }
            }
        }
        // Kahn over the whole graph gives a dependency order to decide in.
        let mut waiting: Vec<usize> = (0..n as ServiceIndex)
            .map(|i| self.graph.deps(i).len())
            .collect();
        let mut ready: Vec<ServiceIndex> = (0..n as ServiceIndex)
            .filter(|&i| waiting[i as usize] == 0)
            .collect();
        let mut in_set = vec![false; n];
        let (mut set, mut left) = (Vec::new(), Vec::new());
        while let Some(i) = ready.pop() {
            for &d in self.graph.dependents(i) {
                waiting[d as usize] -= 1;
                if waiting[d as usize] == 0 {
                    ready.push(d);
                }
            }
            if !candidate[i as usize] || !down(i) {
                continue;
            }
            let startable = self
                .graph
                .deps(i)
                .iter()
                .all(|&d| in_set[d as usize] || self.node(d).state.get() == State::Running);
            if startable {
                in_set[i as usize] = true;
                set.push(i);
            } else {
                left.push(i);
            }
        }
        (set, left)
    }
}

impl AdminRequest {
    /// The registry is not running (start-up, stopping): answered at once.
    pub(crate) fn refuse(self) {
        if let Some(reply) = self.reply {
            let _ = reply.send(Err(AdminError::NotRunning));
        }
    }
}

/// A set of services, as a list (for the schedulers) and a mask (for lookups).
pub(crate) struct Set {
    list: Vec<ServiceIndex>,
    mask: Vec<bool>,
}

impl Set {
    fn new(n: usize, list: Vec<ServiceIndex>) -> Self {
        let mut mask = vec![false; n];
        for &i in &list {
            mask[i as usize] = true;
        }
        Self { list, mask }
    }

    fn contains(&self, i: ServiceIndex) -> bool {
        self.mask[i as usize]
    }
}

type StartFuture<'e> = Pin<Box<dyn Future<Output = Result<(), Arc<ServiceError>>> + Send + 'e>>;

/// Where the administrative transition in progress is.
pub(crate) enum Stage<'e> {
    /// Its set is stopping (reverse dependency order).
    Stopping(Set),
    /// An automatic restart waits for its backoff between stop and start.
    Backoff(Instant),
    /// Its set is starting (dependency order).
    Starting {
        set: Set,
        started: Arc<std::sync::Mutex<Vec<ServiceTiming>>>,
        future: StartFuture<'e>,
    },
    /// A start failed: the started part of the set is stopping again.
    RollingBack(Set),
}

/// The administrative transition in progress, owned by the control task.
pub(crate) struct Active<'e> {
    request: AdminRequest,
    began: Instant,
    report: AdminReport,
    stage: Stage<'e>,
}

impl<'e> Active<'e> {
    pub(crate) fn backoff_until(&self) -> Option<Instant> {
        match self.stage {
            Stage::Backoff(until) => Some(until),
            _ => None,
        }
    }

    pub(crate) fn start_future(&mut self) -> Option<&mut StartFuture<'e>> {
        match &mut self.stage {
            Stage::Starting { future, .. } => Some(future),
            _ => None,
        }
    }
}

/// Polls the start in progress (pending forever without one; the branch is disabled then).
pub(crate) async fn poll_start(
    start: Option<&mut StartFuture<'_>>,
) -> Result<(), Arc<ServiceError>> {
    match start {
        // One task drives many hooks: the coop budget would make it thrash.
        Some(future) => tokio::task::unconstrained(future.as_mut()).await,
        None => std::future::pending().await,
    }
}

impl<'e> Run<'e> {
    /// A service's stop finished: it belongs to the transition in progress, or to the registry.
    pub(super) fn stopped(&mut self, i: ServiceIndex, report: StopReport) {
        if let Some(active) = &mut self.active {
            match &active.stage {
                Stage::Stopping(set) if set.contains(i) => {
                    active.report.stopped.push(report);
                    return;
                }
                Stage::RollingBack(set) if set.contains(i) => {
                    active.report.rolled_back.push(report);
                    return;
                }
                _ => {}
            }
        }
        self.reports.push(report);
    }

    /// Moves the transition in progress on as far as it can go, then takes the next one.
    pub(super) fn advance(&mut self) {
        loop {
            let Some(active) = &mut self.active else {
                if self.stopping.is_some() {
                    for request in self.queue.drain(..) {
                        request.refuse();
                    }
                    self.refuse_reloads();
                    return;
                }
                if self.reloading.is_some() {
                    return;
                }
                // Escalations that waited apply before the next command.
                for i in std::mem::take(&mut self.deferred) {
                    self.escalate(i);
                }
                if self.stopping.is_some() || self.active.is_some() {
                    continue;
                }
                if self.reload_requested {
                    self.begin_reload();
                    return;
                }
                let Some(request) = self.queue.pop_front() else {
                    return;
                };
                self.begin_op(request);
                continue;
            };
            match &active.stage {
                Stage::Stopping(set) if self.stops.members_done(&set.list) => {
                    if active.request.action == AdminAction::Stop {
                        self.finish_op(Ok(()));
                    } else if !active.request.backoff.is_zero() {
                        let until = deadline_after(Instant::now(), active.request.backoff);
                        active.stage = Stage::Backoff(until);
                        return;
                    } else {
                        self.begin_start();
                    }
                }
                Stage::RollingBack(set) if self.stops.members_done(&set.list) => {
                    let error = active.report.error.clone();
                    self.finish_op(Err(error));
                }
                _ => return,
            }
        }
    }

    fn begin_op(&mut self, request: AdminRequest) {
        let engine = self.engine;
        let target = request.target;
        let name = engine.node(target).name.clone();
        tracing::info!(service = %name, action = %request.action, "administration");
        engine.emit_service(
            target,
            Event::Admin {
                service: target,
                action: request.action,
                finished: false,
                ok: true,
            },
        );
        let report = AdminReport::new(request.action, name);
        engine
            .administering
            .store(true, std::sync::atomic::Ordering::Release);
        let stage = match request.action {
            AdminAction::Restart | AdminAction::Stop => {
                let closure = engine.graph.dependents_closure(target);
                let list: Vec<ServiceIndex> = closure
                    .iter()
                    .enumerate()
                    .filter(|&(_, &m)| m)
                    .map(|(j, _)| j as ServiceIndex)
                    .collect();
                let deadline = deadline_after(Instant::now(), engine.shutdown_timeout);
                self.stops.extend(list.iter().copied(), deadline);
                Stage::Stopping(Set {
                    list,
                    mask: closure,
                })
            }
            // Replaced by `begin_start` right below.
            AdminAction::Start => Stage::Backoff(Instant::now()),
        };
        self.active = Some(Active {
            request,
            began: Instant::now(),
            report,
            stage,
        });
        if self.active.as_ref().map(|a| a.request.action) == Some(AdminAction::Start) {
            self.begin_start();
        }
    }

    /// The start phase: the plan is made now, from the states the stop phase left.
    fn begin_start(&mut self) {
        let engine = self.engine;
        let Some(active) = &mut self.active else {
            return;
        };
        let (list, left) = engine.start_plan(active.request.target);
        active.report.not_started = left.iter().map(|&i| engine.node(i).name.clone()).collect();
        if list.is_empty() {
            self.finish_op(Ok(()));
            return;
        }
        self.stops.forget(&list);
        let started = Arc::new(std::sync::Mutex::new(Vec::new()));
        let future: StartFuture<'e> =
            Box::pin(engine.start_members(list.clone(), Arc::clone(&started)));
        active.stage = Stage::Starting {
            set: Set::new(engine.nodes.len(), list),
            started,
            future,
        };
    }

    pub(super) fn op_backoff_over(&mut self) {
        self.begin_start();
    }

    /// The start phase ended: done, or roll the started part of the set back.
    pub(super) fn op_started(&mut self, result: Result<(), Arc<ServiceError>>) {
        let engine = self.engine;
        let Some(active) = &mut self.active else {
            return;
        };
        let Stage::Starting { set, started, .. } =
            std::mem::replace(&mut active.stage, Stage::Backoff(Instant::now()))
        else {
            return;
        };
        active.report.started = std::mem::take(&mut *crate::engine::lock(&started));
        match result {
            Ok(()) => self.finish_op(Ok(())),
            Err(error) => {
                tracing::error!(service = %active.report.service, %error, "administrative start failed: rolling the set back");
                active.report.error = Some(error);
                // Starts still in flight were dropped with the future (no `on_stop`).
                for &i in &set.list {
                    if engine.node(i).state.get() == State::Starting {
                        engine.set_state(i, State::Stopped);
                    }
                }
                let deadline = deadline_after(Instant::now(), engine.shutdown_timeout);
                self.stops.extend(set.list.iter().copied(), deadline);
                active.stage = Stage::RollingBack(set);
            }
        }
    }

    /// A registry stop arrived: the transition in progress ends here; queued ones are refused.
    pub(super) fn interrupt_admin(&mut self) {
        let engine = self.engine;
        if let Some(active) = &mut self.active {
            active.report.interrupted = true;
            if let Stage::Starting { set, started, .. } =
                std::mem::replace(&mut active.stage, Stage::Backoff(Instant::now()))
            {
                active.report.started = std::mem::take(&mut *crate::engine::lock(&started));
                // The start future is dropped: hooks in flight get no `on_stop`.
                for &i in &set.list {
                    if engine.node(i).state.get() == State::Starting {
                        engine.set_state(i, State::Stopped);
                    }
                }
            }
            self.finish_op(Err(None));
        }
        for request in self.queue.drain(..) {
            request.refuse();
        }
    }

    /// Answers the caller: `Ok`, the start failure, or (`Err(None)`) interrupted.
    fn finish_op(&mut self, outcome: Result<(), Option<Arc<ServiceError>>>) {
        let Some(mut active) = self.active.take() else {
            return;
        };
        let engine = self.engine;
        engine
            .administering
            .store(false, std::sync::atomic::Ordering::Release);
        // Tasks that ended during the transition (a stopped set) may leave nothing running.
        engine.maybe_idle();
        active.report.duration = active.began.elapsed();
        let target = active.request.target;
        engine.emit_service(
            target,
            Event::Admin {
                service: target,
                action: active.request.action,
                finished: true,
                ok: outcome.is_ok(),
            },
        );
        let report = Arc::new(active.report);
        tracing::info!(service = %report.service, action = %report.action, duration = ?report.duration, ok = outcome.is_ok(), "administration finished");
        let answer = match outcome {
            Ok(()) => Ok(Arc::clone(&report)),
            Err(Some(error)) => Err(AdminError::Failed {
                error,
                report: Arc::clone(&report),
            }),
            Err(None) => Err(AdminError::Interrupted {
                report: Arc::clone(&report),
            }),
        };
        if let Some(reply) = active.request.reply {
            let _ = reply.send(answer);
        } else {
            self.automatic_finished(target, &report);
        }
    }
}
