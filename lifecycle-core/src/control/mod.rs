//! The registry's control task: one task per running registry owns every transition after
//! `start` — start-up itself, stop, drain, escalation. Handles send it [`Command`]s and await
//! the one shared outcome, so dropping a caller never cancels, repeats or restarts anything,
//! and a stop requested from inside the registry's own tasks completes.

pub(crate) mod handover;

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
    Stop { skip_drain: bool },
    /// A service failed past its policy (its failure is recorded on its node).
    Escalate(ServiceIndex),
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
        match self.control.stop() {
            StopAction::StoppedBeforeStart => {
                self.publish(RegistryStopReport {
                    duration: std::time::Duration::ZERO,
                    services: Vec::new(),
                    escalated: None,
                    aborted: false,
                });
            }
            StopAction::SendToControl => {
                let _ = self.commands.send(Command::Stop { skip_drain });
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
    reports: Vec<Arc<StopReport>>,
    escalated: Option<Arc<ServiceError>>,
    /// Set when the registry stop was requested: its deadline and when it began.
    stopping: Option<(Instant, Instant)>,
    /// While draining: when the ordered stop begins.
    drain_until: Option<Instant>,
}

impl<'e> Run<'e> {
    fn new(engine: &'e Arc<Engine>) -> Self {
        Self {
            engine,
            stops: StopScheduler::new(engine),
            reports: Vec::new(),
            escalated: None,
            stopping: None,
            drain_until: None,
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
                    Some(Command::Stop { .. }) | None => {
                        break ServiceError::new("registry", Phase::Cancelled, "stop requested during start-up".into());
                    }
                    Some(Command::Escalate(i)) => match engine.node(i).failure() {
                        Some(failure) => return Err(failure),
                        None => continue,
                    },
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
                            Command::Stop { .. } => {
                                return Err(Arc::new(ServiceError::new("registry", Phase::Cancelled, "stop requested during start-up".into())));
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
    async fn roll_back(mut self) -> Vec<Arc<StopReport>> {
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
        while let Some(report) = self.stops.next(deadline).await {
            self.reports.push(report);
        }
        let reports = self.reports.clone();
        engine.publish(RegistryStopReport {
            duration: began.elapsed(),
            services: self.reports,
            escalated: None,
            aborted: false,
        });
        engine.control.finish();
        reports
    }

    /// Running: apply commands until the registry has stopped.
    async fn supervise(mut self, commands: &mut mpsc::UnboundedReceiver<Command>) {
        let engine = self.engine;
        loop {
            let deadline = self.stopping.map_or_else(
                || deadline_after(Instant::now(), engine.shutdown_timeout),
                |(deadline, _)| deadline,
            );
            let drain_until = self.drain_until;
            let stops_idle = self.stops.is_idle();
            let woke = tokio::select! {
                biased;
                command = commands.recv() => Woke::Command(command),
                Some(report) = self.stops.next(deadline), if !stops_idle => Woke::Stopped(report),
                () = sleep_until_opt(drain_until), if drain_until.is_some() => Woke::DrainOver,
            };
            match woke {
                Woke::Command(Some(command)) => self.apply(command),
                // Unreachable while the engine (which holds the sender) lives.
                Woke::Command(None) => self.begin_stop(true),
                Woke::Stopped(report) => self.reports.push(report),
                Woke::DrainOver => {
                    self.drain_until = None;
                    self.stop_everything();
                }
            }
            if self.stopping.is_some() && self.drain_until.is_none() && self.stops.all_done() {
                break;
            }
        }
        let began = self.stopping.map_or_else(Instant::now, |(_, began)| began);
        engine.control.finish();
        engine.publish(RegistryStopReport {
            duration: began.elapsed(),
            services: self.reports,
            escalated: self.escalated,
            aborted: false,
        });
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Stop { skip_drain } => self.begin_stop(skip_drain),
            Command::Escalate(i) => self.escalate(i),
        }
    }

    /// A stop request: drain first (readiness off), then the ordered stop.
    fn begin_stop(&mut self, skip_drain: bool) {
        let engine = self.engine;
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
        let deadline = self.stopping.map_or_else(
            || deadline_after(Instant::now(), engine.shutdown_timeout),
            |(deadline, _)| deadline,
        );
        self.stops
            .extend(0..engine.nodes.len() as ServiceIndex, deadline);
    }

    /// A service failed past its policy: its escalation applies.
    fn escalate(&mut self, i: ServiceIndex) {
        let engine = self.engine;
        let node = engine.node(i);
        if self.stopping.is_some() {
            // Already stopping: the failure is in that service's report.
            return;
        }
        match node.options.escalation {
            Escalation::ShutdownRegistry => {
                self.escalated = node.failure();
                tracing::error!(service = %node.name, "escalation: shutting the registry down");
                self.begin_stop(true);
            }
            Escalation::StopDependents => {
                let set = engine.graph.dependents_closure(i);
                let deadline = deadline_after(Instant::now(), engine.shutdown_timeout);
                let members = set
                    .iter()
                    .enumerate()
                    .filter(|&(_, &m)| m)
                    .map(|(j, _)| j as ServiceIndex);
                self.stops.extend(members, deadline);
            }
        }
    }
}

/// What woke the control task.
enum Woke {
    Command(Option<Command>),
    Stopped(Arc<StopReport>),
    DrainOver,
}

/// Sleeps until `at`; pending forever for `None` (the branch is disabled then anyway).
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
