//! The registry's control task: one task per running registry owns every transition after
//! `start` — start-up itself, stop, drain, escalation. Handles send it [`Command`]s and await
//! the one shared outcome, so dropping a caller never cancels, repeats or restarts anything,
//! and a stop requested from inside the registry's own tasks completes.

pub(crate) mod admin;
pub(crate) mod handover;
mod policy;
mod reason;
pub(crate) mod reload;

use reason::StopDuringStartup;
pub use reason::StopReason;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, StopScheduler, deadline_after};
use crate::events::{Event, ServiceIndex};
use crate::{Escalation, Phase, RegistryStopReport, ServiceError, StartError, State, StopReport};
use handover::StopAction;

/// What handles and tasks ask of the control task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Stop the registry; `skip_drain` ends a drain in progress at once (a second signal).
    Stop {
        skip_drain: bool,
        reason: Option<StopReason>,
    },
    /// A service failed past its policy (its failure is recorded on its node).
    Escalate(ServiceIndex),
    /// Restart, stop or start one service with its dependents.
    Admin(admin::AdminRequest),
    /// Reload every service with an `on_reload` (`None`: nobody waits, as for SIGHUP).
    Reload(Option<oneshot::Sender<reload::ReloadOutcome>>),
}

/// The registry-level phase, as handles read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RegistryPhase {
    Built,
    Starting,
    Running,
    Draining,
    Stopping,
    Stopped,
}

impl RegistryPhase {
    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Built,
            1 => Self::Starting,
            2 => Self::Running,
            3 => Self::Draining,
            4 => Self::Stopping,
            _ => Self::Stopped,
        }
    }
}

/// What became of a start: the control task answers once.
pub(crate) type StartOutcome = Result<(), StartError>;

impl Engine {
    /// Asks for a stop; returns at once. Before start-up, the registry is stopped right here
    /// (there is nothing to stop) and a later start starts nothing.
    pub(crate) fn request_stop(&self, skip_drain: bool) {
        self.request_stop_because(skip_drain, None);
    }

    /// [`request_stop`](Self::request_stop) with the requester's reason (the first one wins).
    pub(crate) fn request_stop_because(&self, skip_drain: bool, reason: Option<StopReason>) {
        match self.control.stop() {
            StopAction::StoppedBeforeStart => {
                self.publish(RegistryStopReport {
                    duration: std::time::Duration::ZERO,
                    services: Vec::new(),
                    escalated: None,
                    aborted: false,
                    reason,
                });
            }
            StopAction::SendToControl => {
                let _ = self.commands.send(Command::Stop { skip_drain, reason });
            }
            StopAction::Nothing => {}
        }
    }

    /// Spawns the control task, which starts the registry. `Err` if it was stopped before.
    pub(crate) fn launch(
        self: &Arc<Self>,
        cancel: CancellationToken,
    ) -> Result<(tokio::task::JoinHandle<()>, oneshot::Receiver<StartOutcome>), StartError> {
        let Some(rx) = self.control.launch() else {
            return Err(cancelled_start(
                "the registry was stopped before start-up began",
            ));
        };
        let (tx, started) = oneshot::channel();
        let control = tokio::spawn(Arc::clone(self).control(rx, cancel, tx));
        Ok((control, started))
    }

    /// The control task.
    async fn control(
        self: Arc<Self>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        cancel: CancellationToken,
        started: oneshot::Sender<StartOutcome>,
    ) {
        let engine = &self;
        let mut run = Run::new(engine);
        if let Err(error) = run.start(&mut commands, &cancel).await {
            let reports = run.roll_back().await;
            let _ = started.send(Err(StartError {
                error,
                rollback: reports,
            }));
            return;
        }
        if started.send(Ok(())).is_err() {
            // The caller dropped its start future: its guard aborted everything.
            return;
        }
        run.supervise(&mut commands).await;
    }
}

fn cancelled_start(why: &'static str) -> StartError {
    StartError {
        error: Arc::new(ServiceError::new("registry", Phase::Cancelled, why.into())),
        rollback: Vec::new(),
    }
}

/// The control task's state: the only writer of registry-level state after start.
struct Run<'e> {
    engine: &'e Arc<Engine>,
    stops: StopScheduler<'e>,
    /// Every service stop in this run, in the order they finished.
    reports: Vec<StopReport>,
    escalated: Option<Arc<ServiceError>>,
    /// The first reason given with a stop request.
    reason: Option<StopReason>,
    /// Set when the registry stop was requested: its deadline and when it began.
    stopping: Option<(Instant, Instant)>,
    /// While draining: when the ordered stop begins.
    drain_until: Option<Instant>,
    /// Administrative commands waiting for the one in progress.
    queue: std::collections::VecDeque<admin::AdminRequest>,
    /// The administrative transition in progress.
    active: Option<admin::Active<'e>>,
    /// Escalations that arrived during an administrative transition, applied after it.
    deferred: Vec<ServiceIndex>,
    /// Per service with a restart policy: its restarts so far.
    restarts: std::collections::HashMap<ServiceIndex, policy::RestartHistory>,
    /// The reload in progress.
    reloading: Option<reload::Reloading<'e>>,
    /// A reload was requested (requests coalesce until it begins), and who waits for it.
    reload_requested: bool,
    reload_waiters: Vec<oneshot::Sender<reload::ReloadOutcome>>,
}

impl<'e> Run<'e> {
    fn new(engine: &'e Arc<Engine>) -> Self {
        Self {
            engine,
            stops: StopScheduler::new(engine),
            reports: Vec::new(),
            escalated: None,
            reason: None,
            stopping: None,
            drain_until: None,
            queue: std::collections::VecDeque::new(),
            active: None,
            deferred: Vec::new(),
            restarts: std::collections::HashMap::new(),
            reloading: None,
            reload_requested: false,
            reload_waiters: Vec::new(),
        }
    }

    /// Start-up, interrupted by a stop, an escalation or `cancel`.
    async fn start(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        cancel: &CancellationToken,
    ) -> Result<(), Arc<ServiceError>> {
        let engine = self.engine;
        engine.set_phase(crate::control::RegistryPhase::Starting);
        engine.emit_registry(Event::StartupBegan);
        if cancel.is_cancelled() {
            return Err(cancelled_start("start-up cancelled before it began").error);
        }
        let start = engine.start_all();
        tokio::pin!(start);
        let interrupted = loop {
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(Command::Stop { reason, .. }) => {
                        self.reason.clone_from(&reason);
                        break ServiceError::new("registry", Phase::Cancelled, Box::new(StopDuringStartup(reason)));
                    }
                    None => {
                        break ServiceError::new("registry", Phase::Cancelled, Box::new(StopDuringStartup(None)));
                    }
                    Some(Command::Escalate(i)) => match engine.node(i).failure() {
                        Some(failure) => return Err(failure),
                        None => continue,
                    },
                    Some(Command::Admin(request)) => {
                        request.refuse();
                        continue;
                    }
                    Some(Command::Reload(reply)) => {
                        if let Some(reply) = reply {
                            let _ = reply.send(Err(admin::AdminError::NotRunning));
                        }
                        continue;
                    }
                },
                () = cancel.cancelled() => {
                    break ServiceError::new("registry", Phase::Cancelled, "start-up cancelled".into());
                }
                result = &mut start => {
                    result?;
                    // An escalation that raced the last start is acted on before `Ok`.
                    while let Ok(command) = commands.try_recv() {
                        match command {
                            Command::Escalate(i) => {
                                if let Some(failure) = engine.node(i).failure() {
                                    return Err(failure);
                                }
                            }
                            Command::Stop { reason, .. } => {
                                self.reason.clone_from(&reason);
                                return Err(Arc::new(ServiceError::new("registry", Phase::Cancelled, Box::new(StopDuringStartup(reason)))));
                            }
                            Command::Admin(request) => request.refuse(),
                            Command::Reload(reply) => {
                                if let Some(reply) = reply {
                                    let _ = reply.send(Err(admin::AdminError::NotRunning));
                                }
                            }
                        }
                    }
                    engine.set_phase(crate::control::RegistryPhase::Running);
                    engine.emit_registry(Event::StartupFinished);
                    // Tasks that all finished during start-up end a `stop_when_idle` program.
                    engine.maybe_idle();
                    return Ok(());
                }
            }
        };
        Err(Arc::new(interrupted))
    }

    /// After a failed or cancelled start: starts in flight were dropped (no `on_stop`);
    /// every started service stops in reverse order. Returns the rollback's reports.
    async fn roll_back(mut self) -> Vec<StopReport> {
        let engine = self.engine;
        for (i, node) in engine.nodes.iter().enumerate() {
            if node.state.get() == State::Starting {
                engine.set_state(i as ServiceIndex, State::Stopped);
            }
        }
        engine.emit_registry(Event::RollingBack);
        let began = Instant::now();
        let deadline = deadline_after(began, engine.shutdown_timeout);
        engine.set_phase(crate::control::RegistryPhase::Stopping);
        self.stops
            .extend(0..engine.nodes.len() as ServiceIndex, deadline);
        self.reports.reserve(engine.nodes.len());
        while let Some((_, report)) = self.stops.next(deadline).await {
            self.reports.push(report);
        }
        let reports = self.reports.clone();
        engine.publish(RegistryStopReport {
            duration: began.elapsed(),
            services: self.reports,
            escalated: None,
            aborted: false,
            reason: self.reason,
        });
        engine.control.finish();
        reports
    }

    /// Running: apply commands until the registry has stopped.
    async fn supervise(mut self, commands: &mut mpsc::UnboundedReceiver<Command>) {
        let engine = self.engine;
        loop {
            let deadline = self.stop_deadline();
            let drain_until = self.drain_until;
            let stops_idle = self.stops.is_idle();
            let backoff_until = self.active.as_ref().and_then(admin::Active::backoff_until);
            let Run {
                stops,
                active,
                reloading,
                ..
            } = &mut self;
            let start = active.as_mut().and_then(admin::Active::start_future);
            let starting = start.is_some();
            let is_reloading = reloading.is_some();
            let woke = tokio::select! {
                biased;
                command = commands.recv() => Woke::Command(command),
                Some((i, report)) = stops.next(deadline), if !stops_idle => Woke::Stopped(i, report),
                result = admin::poll_start(start), if starting => Woke::Started(result),
                () = reload::poll_reload(reloading.as_mut()), if is_reloading => Woke::Reloaded,
                () = sleep_until_opt(drain_until), if drain_until.is_some() => Woke::DrainOver,
                () = sleep_until_opt(backoff_until), if backoff_until.is_some() => Woke::BackoffOver,
            };
            match woke {
                Woke::Command(Some(command)) => self.apply(command),
                // Unreachable while the engine (which holds the sender) lives.
                Woke::Command(None) => self.begin_stop(true, None),
                Woke::Stopped(i, report) => {
                    self.stopped(i, report);
                    // Stops that finished in the same wake-up, without another turn.
                    while let Some((i, report)) = self.stops.take_finished() {
                        self.stopped(i, report);
                    }
                }
                Woke::Started(result) => self.op_started(result),
                Woke::DrainOver => {
                    self.drain_until = None;
                    self.stop_everything();
                }
                Woke::BackoffOver => self.op_backoff_over(),
                Woke::Reloaded => self.reload_finished(false),
            }
            self.advance();
            if self.stopping.is_some()
                && self.drain_until.is_none()
                && self.active.is_none()
                && self.reloading.is_none()
                && self.stops.all_done()
            {
                break;
            }
        }
        // Requests sent during the last stop (from an `on_stop`) still give their reason.
        while let Ok(command) = commands.try_recv() {
            match command {
                Command::Stop { reason, .. } if self.reason.is_none() => self.reason = reason,
                Command::Admin(request) => request.refuse(),
                Command::Reload(Some(reply)) => {
                    let _ = reply.send(Err(admin::AdminError::NotRunning));
                }
                _ => {}
            }
        }
        let began = self.stopping.map_or_else(Instant::now, |(_, began)| began);
        engine.control.finish();
        engine.publish(RegistryStopReport {
            duration: began.elapsed(),
            services: self.reports,
            escalated: self.escalated,
            aborted: false,
            reason: self.reason,
        });
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Stop { skip_drain, reason } => {
                // A registry stop wins over administration: nothing restarts afterwards.
                self.interrupt_admin();
                self.reload_finished(true);
                self.refuse_reloads();
                self.begin_stop(skip_drain, reason);
            }
            // One transition at a time: an escalation waits for the one in progress.
            Command::Escalate(i) if self.active.is_some() || self.reloading.is_some() => {
                self.deferred.push(i);
            }
            Command::Escalate(i) => self.escalate(i),
            Command::Admin(request) if self.stopping.is_some() => request.refuse(),
            Command::Admin(request) => self.queue.push_back(request),
            Command::Reload(reply) => self.request_reload(reply),
        }
    }

    /// A stop request: drain first (readiness off), then the ordered stop.
    fn begin_stop(&mut self, skip_drain: bool, reason: Option<StopReason>) {
        let engine = self.engine;
        if self.reason.is_none() {
            self.reason = reason;
        }
        if self.stopping.is_none() {
            let now = Instant::now();
            self.stopping = Some((deadline_after(now, engine.shutdown_timeout), now));
            engine.set_phase(crate::control::RegistryPhase::Draining);
            engine.draining.cancel();
            engine.emit_registry(Event::Draining);
            tracing::info!(drain_delay = ?engine.drain_delay, "stop requested: draining");
            if !engine.drain_delay.is_zero() && !skip_drain {
                let deadline = self.stopping.map_or(now, |(d, _)| d);
                self.drain_until = Some(deadline_after(now, engine.drain_delay).min(deadline));
                return;
            }
        } else if !(skip_drain && self.drain_until.is_some()) {
            return;
        }
        self.drain_until = None;
        self.stop_everything();
    }

    /// The ordered stop of every service (those already stopped are skipped).
    fn stop_everything(&mut self) {
        let engine = self.engine;
        engine.set_phase(crate::control::RegistryPhase::Stopping);
        engine.emit_registry(Event::Stopping);
        // One report per service at most: the report list never regrows during the stop.
        self.reports
            .reserve(engine.nodes.len().saturating_sub(self.reports.len()));
        let deadline = self.stop_deadline();
        self.stops
            .extend(0..engine.nodes.len() as ServiceIndex, deadline);
    }

    /// The registry stop's deadline once one was requested; otherwise the bound of a stop
    /// that begins now.
    fn stop_deadline(&self) -> Instant {
        self.stopping.map_or_else(
            || deadline_after(Instant::now(), self.engine.shutdown_timeout),
            |(deadline, _)| deadline,
        )
    }

    /// A service failed past its policy: its escalation applies.
    fn escalate(&mut self, i: ServiceIndex) {
        let engine = self.engine;
        let node = engine.node(i);
        if self.stopping.is_some() {
            // Already stopping: the failure is in that service's report.
            return;
        }
        if node.failure().is_none() {
            // The incarnation that failed was restarted meanwhile.
            return;
        }
        if self.restart_by_policy(i) {
            return;
        }
        match node.options.escalation {
            Escalation::ShutdownRegistry => {
                self.escalated = node.failure();
                tracing::error!(service = %node.name, "escalation: shutting the registry down");
                self.begin_stop(true, None);
            }
            Escalation::StopDependents => {
                let deadline = deadline_after(Instant::now(), engine.shutdown_timeout);
                self.stops
                    .extend(engine.graph.dependents_closure_list(i), deadline);
            }
        }
    }
}

/// What woke the control task.
enum Woke {
    Command(Option<Command>),
    Stopped(ServiceIndex, StopReport),
    Started(Result<(), Arc<ServiceError>>),
    DrainOver,
    BackoffOver,
    Reloaded,
}

/// Sleeps until `at`; pending forever for `None` (the branch is disabled then anyway).
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
