//! The stop scheduler: a service stops only after all its member dependents stopped;
//! independent services stop concurrently. Each service's stop is its own future (cancel →
//! its tasks until its own `stop_timeout` → abort → `on_stop` → children spawned by `on_stop`
//! → report), and a service is released to its dependencies the moment its own stop ends.
//!
//! Cheap by structure: services whose deadline is the same instant share one deadline token
//! and the scheduler keeps a single timer for the earliest pending deadline, so a stop
//! registers no timer per service. Membership can grow while a stop runs (a registry stop
//! arriving during a "stop dependents" escalation): member sets are always closed under
//! "depends on", so growing one never invalidates a counter already taken.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::{Instant, Sleep, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Engine, StopReport, deadline_after, lock};
use crate::error::{Panicked, TimedOut};
use crate::events::ServiceIndex;
use crate::{Phase, ServiceError, State};

/// How long aborted tasks get to be dropped before they are reported as still running.
const ABORT_GRACE: Duration = Duration::from_millis(5);

/// What happened to a service's tasks during its stop.
#[derive(Default)]
struct TaskOutcomes {
    aborted: Vec<&'static str>,
    still_running: Vec<&'static str>,
    blocking_still_running: Vec<&'static str>,
    children_aborted: usize,
}

/// One token per distinct deadline instant, cancelled by one timer at that instant.
#[derive(Default)]
struct Deadlines {
    tokens: BTreeMap<Instant, CancellationToken>,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl Deadlines {
    fn token(&mut self, at: Instant) -> CancellationToken {
        self.tokens.entry(at).or_default().clone()
    }

    /// Cancels every token whose instant has come.
    fn fire(&mut self, now: Instant) {
        while let Some(entry) = self.tokens.first_entry() {
            if *entry.key() > now {
                break;
            }
            entry.remove().cancel();
        }
    }

    /// The timer for the earliest pending deadline, re-armed only when that instant changes.
    fn timer(&mut self) -> Option<Pin<&mut Sleep>> {
        let &earliest = self.tokens.keys().next()?;
        match &mut self.timer {
            Some((at, sleep)) if *at != earliest => {
                sleep.as_mut().reset(earliest);
                *at = earliest;
            }
            Some(_) => {}
            None => self.timer = Some((earliest, Box::pin(tokio::time::sleep_until(earliest)))),
        }
        self.timer.as_mut().map(|(_, sleep)| sleep.as_mut())
    }

    /// Nothing is stopping: drop every token and the timer (so paused time is not advanced).
    fn clear(&mut self) {
        self.tokens.clear();
        self.timer = None;
    }
}

type StopFuture<'e> = Pin<Box<dyn Future<Output = (ServiceIndex, Arc<StopReport>)> + Send + 'e>>;

/// Stops sets of services in reverse dependency order. Owned by the control task.
pub(crate) struct StopScheduler<'e> {
    engine: &'e Arc<Engine>,
    member: Vec<bool>,
    /// Set when a member's stop finished (or it had nothing to stop).
    done: Vec<bool>,
    /// How many member dependents each member still waits for.
    waiting_on: Vec<u32>,
    in_flight: FuturesUnordered<StopFuture<'e>>,
    deadlines: Deadlines,
}

impl<'e> StopScheduler<'e> {
    pub(crate) fn new(engine: &'e Arc<Engine>) -> Self {
        let n = engine.nodes.len();
        Self {
            engine,
            member: vec![false; n],
            done: vec![false; n],
            waiting_on: vec![0; n],
            in_flight: FuturesUnordered::new(),
            deadlines: Deadlines::default(),
        }
    }

    /// Whether no stop is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Whether every service of the registry has been stopped (or had nothing to stop).
    pub(crate) fn all_done(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    /// Adds `set` (closed under "depends on": every dependent of a member is a member) to the
    /// services being stopped; each stops within `registry_deadline` at the latest.
    /// Returns the services that finished at once (no report: never started, or terminal).
    pub(crate) fn extend(
        &mut self,
        set: impl IntoIterator<Item = ServiceIndex>,
        registry_deadline: Instant,
    ) {
        let added: Vec<ServiceIndex> = set
            .into_iter()
            .filter(|&i| !std::mem::replace(&mut self.member[i as usize], true))
            .collect();
        let mut ready = Vec::new();
        for &i in &added {
            let waiting = self
                .engine
                .graph
                .dependents(i)
                .iter()
                .filter(|&&d| self.member[d as usize] && !self.done[d as usize])
                .count() as u32;
            self.waiting_on[i as usize] = waiting;
            if waiting == 0 {
                ready.push(i);
            }
        }
        self.launch(ready, registry_deadline);
    }

    /// Launches the stop of each ready service; those with nothing to stop release their
    /// dependencies at once.
    fn launch(&mut self, mut ready: Vec<ServiceIndex>, registry_deadline: Instant) {
        let engine = self.engine;
        // One clock read per sweep: every service cancelled in it began stopping now, so
        // services with one `stop_timeout` share one deadline (and one token).
        let now = Instant::now();
        while let Some(i) = ready.pop() {
            let node = engine.node(i);
            let state = node.state.get();
            if state == State::New || state.is_terminal() {
                self.finish(i, &mut ready);
                continue;
            }
            engine.set_state(i, State::Stopping);
            node.token.cancel();
            node.tracker.close();
            let grace_until =
                deadline_after(now, node.options.stop_timeout()).min(registry_deadline);
            let grace = self.deadlines.token(grace_until);
            let stop = engine.stop_service(i, now, grace, registry_deadline);
            let span = tracing::info_span!("stop", service = %node.name);
            self.in_flight.push(if span.is_disabled() {
                Box::pin(stop)
            } else {
                Box::pin(stop.instrument(span))
            });
        }
    }

    /// Marks `i` stopped and releases the member dependencies that waited only on it.
    fn finish(&mut self, i: ServiceIndex, ready: &mut Vec<ServiceIndex>) {
        self.done[i as usize] = true;
        for &dep in self.engine.graph.deps(i) {
            if self.member[dep as usize] && !self.done[dep as usize] {
                let count = &mut self.waiting_on[dep as usize];
                *count -= 1;
                if *count == 0 {
                    ready.push(dep);
                }
            }
        }
    }

    /// The next service to finish stopping; `None` when nothing is in flight.
    pub(crate) async fn next(&mut self, registry_deadline: Instant) -> Option<Arc<StopReport>> {
        loop {
            let Self {
                in_flight,
                deadlines,
                ..
            } = self;
            // `None` when a deadline fired; the finished stop (if any) otherwise.
            let woke = match deadlines.timer() {
                Some(timer) => tokio::select! {
                    biased;
                    // One task drives many stops: the coop budget would make it thrash.
                    next = tokio::task::unconstrained(in_flight.next()) => Some(next),
                    () = timer => None,
                },
                None => Some(tokio::task::unconstrained(in_flight.next()).await),
            };
            let Some(finished) = woke else {
                self.deadlines.fire(Instant::now());
                continue;
            };
            let Some((i, report)) = finished else {
                self.deadlines.clear();
                return None;
            };
            let mut ready = Vec::new();
            self.finish(i, &mut ready);
            self.launch(ready, registry_deadline);
            if self.in_flight.is_empty() {
                self.deadlines.clear();
            }
            return Some(report);
        }
    }
}

impl Engine {
    /// One service's stop. It was cancelled at `began`; its tasks get until `grace` fires.
    async fn stop_service(
        &self,
        i: ServiceIndex,
        began: Instant,
        grace: CancellationToken,
        registry_deadline: Instant,
    ) -> (ServiceIndex, Arc<StopReport>) {
        let node = self.node(i);
        let mut tasks = TaskOutcomes::default();
        if !node.tracker.is_empty() {
            let finished = tokio::select! {
                biased;
                () = node.tracker.wait() => true,
                () = grace.cancelled() => false,
            };
            if !finished {
                self.abort_stragglers(i, registry_deadline, &mut tasks)
                    .await;
            }
        }
        drop(grace);
        // Blocking runs that outlived the abort hold the tracker; they were reported.
        let stragglers = !node.tracker.is_empty();
        let mut errors = Vec::new();
        if node.service.has_stop_hook() {
            let until =
                deadline_after(Instant::now(), node.options.hook_timeout()).min(registry_deadline);
            if let Err(e) = self.run_stop_hook(i, until).await {
                tracing::error!(service = %node.name, error = %e, "stop hook failed");
                errors.push(Arc::new(e));
            }
            // Children spawned by `on_stop` are awaited until the same bound, then aborted.
            let children_done = !stragglers && timeout_at(until, node.tracker.wait()).await.is_ok();
            if !children_done && node.children_alive() > 0 {
                tasks.children_aborted += node.children_alive();
                node.abort_tasks();
                let grace =
                    (Instant::now() + ABORT_GRACE).min(registry_deadline.max(Instant::now()));
                let _ = timeout_at(grace, node.tracker.wait()).await;
            }
        }
        (i, self.finish_stop(i, began, tasks, errors))
    }

    /// The tasks did not finish within `stop_timeout`: abort them and report what is left.
    async fn abort_stragglers(
        &self,
        i: ServiceIndex,
        registry_deadline: Instant,
        tasks: &mut TaskOutcomes,
    ) {
        let node = self.node(i);
        tasks.children_aborted = node.children_alive();
        tasks.aborted = node.abort_tasks();
        // Let the runtime drop what it can; then report what is still there.
        tokio::task::yield_now().await;
        let grace = (Instant::now() + ABORT_GRACE).min(registry_deadline.max(Instant::now()));
        let _ = timeout_at(grace, node.tracker.wait()).await;
        for entry in lock(&node.tasks).iter() {
            match &entry.blocking {
                // A blocking run cannot be aborted: it goes on until its function returns.
                Some(in_run) if in_run.load(Ordering::Acquire) => {
                    tasks.blocking_still_running.push(entry.spec.name);
                }
                Some(_) => {}
                None if !entry.abort.is_finished() => tasks.still_running.push(entry.spec.name),
                None => {}
            }
        }
        tracing::warn!(service = %node.name, aborted = ?tasks.aborted, "tasks did not finish within stop_timeout");
    }

    /// The final state (Failed if the service failed) and the report.
    fn finish_stop(
        &self,
        i: ServiceIndex,
        began: Instant,
        tasks: TaskOutcomes,
        hook_errors: Vec<Arc<ServiceError>>,
    ) -> Arc<StopReport> {
        let node = self.node(i);
        let (failed, during_stop) = {
            let mut failures = lock(&node.failures);
            (
                failures.failed.clone(),
                std::mem::take(&mut failures.during_stop),
            )
        };
        let final_state = if failed.is_some() {
            State::Failed
        } else {
            State::Stopped
        };
        let errors = failed
            .into_iter()
            .chain(during_stop)
            .chain(hook_errors)
            .collect();
        self.set_state(i, final_state);
        let report = StopReport {
            service: node.name.clone(),
            state: node.state.get(),
            duration: Instant::now().saturating_duration_since(began),
            tasks_aborted: tasks.aborted,
            tasks_still_running: tasks.still_running,
            blocking_still_running: tasks.blocking_still_running,
            children_aborted: tasks.children_aborted,
            errors,
        };
        tracing::info!(service = %node.name, duration = ?report.duration, "stopped");
        Arc::new(report)
    }

    async fn run_stop_hook(&self, i: ServiceIndex, until: Instant) -> Result<(), ServiceError> {
        let node = self.node(i);
        let now = Instant::now();
        let error = |source| ServiceError::new(node.name.to_string(), Phase::Stop, source);
        if until <= now {
            return Err(error(
                "skipped: the registry's shutdown deadline had passed".into(),
            ));
        }
        let hook = AssertUnwindSafe(node.service.stop_hook()).catch_unwind();
        match timeout_at(until, hook).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(error(e)),
            Ok(Err(panic)) => Err(error(Box::new(Panicked::from_payload(&*panic)))),
            Err(_) => Err(error(Box::new(TimedOut(until - now)))),
        }
    }
}
