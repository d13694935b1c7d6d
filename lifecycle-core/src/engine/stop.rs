//! The stop scheduler: a service stops only after all its member dependents stopped;
//! independent services stop concurrently. Each service's stop is its own (cancel → its
//! tasks until its own `stop_timeout` → abort → `on_stop` → children spawned by `on_stop` →
//! report), and a service is released to its dependencies the moment its own stop ends.
//!
//! Cheap by structure: services whose deadline is the same instant share one deadline group
//! (one token) and the scheduler keeps a single timer for the earliest pending deadline, so a
//! stop registers no timer per service. A service with a stop hook stops through a future of
//! its own. A service without one needs no future while its tasks end in time: the task that
//! ends last hands it to the scheduler ([`QuietClaim`](super::quiet::QuietClaim)), which
//! reports it at once when the service's own tracker is empty; if children or blocking runs
//! still hold the tracker, or its deadline comes first, it continues as a full stop. No
//! scheduler turn is counted and nothing runtime-wide is read: the claim is the service's own
//! task count, and the check its own tracker.
//!
//! Membership can grow while a stop runs (a registry stop arriving during a "stop dependents"
//! escalation): member sets are always closed under "depends on", so growing one never
//! invalidates a counter already taken.

use std::collections::{BTreeMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
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

/// The services whose stop ends at one instant: a token for the full stops (cancelled when
/// it comes) and the hook-less ones waiting for their last task (claimed when it comes).
#[derive(Default)]
struct Group {
    token: Option<CancellationToken>,
    quiet: Vec<ServiceIndex>,
}

/// One group per distinct deadline instant, fired by one timer at that instant.
#[derive(Default)]
struct Deadlines {
    groups: BTreeMap<Instant, Group>,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl Deadlines {
    fn token(&mut self, at: Instant) -> CancellationToken {
        self.groups
            .entry(at)
            .or_default()
            .token
            .get_or_insert_with(CancellationToken::new)
            .clone()
    }

    /// `i` waits for its last task until `at`.
    fn watch(&mut self, at: Instant, i: ServiceIndex) {
        self.groups.entry(at).or_default().quiet.push(i);
    }

    /// Cancels every token whose instant has come; returns the hook-less services that were
    /// waiting until then, with their instant.
    fn fire(&mut self, now: Instant, due: &mut Vec<(Instant, ServiceIndex)>) {
        while let Some(entry) = self.groups.first_entry() {
            let at = *entry.key();
            if at > now {
                break;
            }
            let group = entry.remove();
            if let Some(token) = group.token {
                token.cancel();
            }
            due.extend(group.quiet.into_iter().map(|i| (at, i)));
        }
    }

    /// The timer for the earliest pending deadline, re-armed only when that instant changes.
    fn timer(&mut self) -> Option<Pin<&mut Sleep>> {
        let &earliest = self.groups.keys().next()?;
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

    /// Nothing is stopping: drop every group and the timer (so paused time is not advanced).
    fn clear(&mut self) {
        self.groups.clear();
        self.timer = None;
    }
}

type StopFuture<'e> = Pin<Box<dyn Future<Output = (ServiceIndex, StopReport)> + Send + 'e>>;

/// What woke [`StopScheduler::next`].
enum Woke {
    /// Hook-less services' last tasks ended (they are in the engine's queue).
    Quiet,
    /// A full stop finished.
    Stopped(ServiceIndex, StopReport),
    /// A deadline came.
    Deadline,
}

/// Stops sets of services in reverse dependency order. Owned by the control task.
///
/// A service with a stop hook stops through its own future (see the module docs). A
/// service without one needs none while its tasks end in time: it is cancelled, its stop
/// is *armed* ([`QuietClaim`](super::quiet::QuietClaim)), and the task that ends last hands
/// it to this scheduler, which reports it at once if the service's own tracker is empty
/// (no child, no blocking run left); otherwise, or when its deadline comes first, it
/// continues as a full stop (wait for the tracker until the deadline, abort, report).
pub(crate) struct StopScheduler<'e> {
    engine: &'e Arc<Engine>,
    member: Vec<bool>,
    /// Set when a member's stop finished (or it had nothing to stop).
    done: Vec<bool>,
    /// How many member dependents each member still waits for.
    waiting_on: Vec<u32>,
    /// Per member that began stopping: when, and until when its tasks may run (one
    /// allocation, made by the first stop).
    times: Vec<(Instant, Instant)>,
    in_flight: FuturesUnordered<StopFuture<'e>>,
    /// Hook-less stops armed and not yet claimed.
    quiet_pending: usize,
    /// The engine's quiet queue, swapped out (so neither side allocates per service).
    quiet_taken: Vec<ServiceIndex>,
    /// Stops finished but not yet handed out by [`next`](Self::next).
    finished: VecDeque<(ServiceIndex, StopReport)>,
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
            times: Vec::new(),
            in_flight: FuturesUnordered::new(),
            quiet_pending: 0,
            quiet_taken: Vec::new(),
            finished: VecDeque::new(),
            deadlines: Deadlines::default(),
        }
    }

    /// Whether no stop is in flight and no finished one waits to be handed out.
    pub(crate) fn is_idle(&self) -> bool {
        self.none_running() && self.finished.is_empty()
    }

    /// Whether no full stop is in flight and no hook-less stop waits for its last task.
    fn none_running(&self) -> bool {
        self.in_flight.is_empty() && self.quiet_pending == 0
    }

    /// A stop that finished and was not handed out yet: what [`next`](Self::next) would
    /// return at once.
    pub(crate) fn take_finished(&mut self) -> Option<(ServiceIndex, StopReport)> {
        self.finished.pop_front()
    }

    /// Whether every service of the registry has been stopped (or had nothing to stop), and
    /// every report handed out.
    pub(crate) fn all_done(&self) -> bool {
        self.finished.is_empty() && self.done.iter().all(|&d| d)
    }

    /// Whether every service of `set` has been stopped (or had nothing to stop), and every
    /// report handed out.
    pub(crate) fn members_done(&self, set: &[ServiceIndex]) -> bool {
        self.finished.is_empty() && set.iter().all(|&i| self.done[i as usize])
    }

    /// Forgets `set` (stopped services about to start again), so a later stop stops them
    /// again. Every member must be done; the rest stays closed under "depends on" for what
    /// matters: no member still stopping waits on a forgotten one (those were done).
    pub(crate) fn forget(&mut self, set: &[ServiceIndex]) {
        for &i in set {
            debug_assert!(self.done[i as usize] || !self.member[i as usize]);
            self.member[i as usize] = false;
            self.done[i as usize] = false;
            self.waiting_on[i as usize] = 0;
        }
    }

    /// Adds `set` (closed under "depends on": every dependent of a member is a member) to the
    /// services being stopped; each stops within `registry_deadline` at the latest.
    /// Services with nothing to stop (never started, or terminal) finish at once, without a
    /// report.
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

    /// Launches the stop of each ready service; those that finish at once release their
    /// dependencies at once.
    fn launch(&mut self, mut ready: Vec<ServiceIndex>, registry_deadline: Instant) {
        let engine = self.engine;
        if ready.is_empty() {
            return;
        }
        if self.times.is_empty() {
            self.times = vec![(registry_deadline, registry_deadline); engine.nodes.len()];
        }
        // One clock read per sweep: every service cancelled in it began stopping now, so
        // services with one `stop_timeout` share one deadline (one group, one timer).
        let now = Instant::now();
        while let Some(i) = ready.pop() {
            let node = engine.node(i);
            let state = node.state.get();
            if state == State::New || state.is_terminal() {
                self.finish(i, &mut ready);
                continue;
            }
            engine.set_state(i, State::Stopping);
            node.cancel();
            node.tracker.close();
            let grace_until =
                deadline_after(now, node.options.stop_timeout()).min(registry_deadline);
            self.times[i as usize] = (now, grace_until);
            if node.service.has_stop_hook() {
                self.launch_full(i, registry_deadline);
                continue;
            }
            self.deadlines.watch(grace_until, i);
            self.quiet_pending += 1;
            if node.quiet.arm() {
                // No task alive: nothing will hand this service on; settle it now.
                self.quieted(i, &mut ready, registry_deadline);
            }
        }
    }

    /// The full stop of `i` (its own future), with its deadline's token.
    fn launch_full(&mut self, i: ServiceIndex, registry_deadline: Instant) {
        let grace = self.deadlines.token(self.times[i as usize].1);
        self.launch_full_with(i, grace, registry_deadline);
    }

    /// The full stop of `i`; its tasks run until `grace` is cancelled.
    fn launch_full_with(
        &mut self,
        i: ServiceIndex,
        grace: CancellationToken,
        registry_deadline: Instant,
    ) {
        let engine = self.engine;
        let stop = engine.stop_service(i, self.times[i as usize].0, grace, registry_deadline);
        let span = tracing::info_span!("stop", service = %engine.node(i).name);
        self.in_flight.push(if span.is_disabled() {
            Box::pin(stop)
        } else {
            Box::pin(stop.instrument(span))
        });
    }

    /// The hook-less `i` was claimed (its last task ended, or none was alive): done if its
    /// tracker is empty too; otherwise children or blocking runs still hold it, and the
    /// full stop waits for them until its deadline.
    fn quieted(
        &mut self,
        i: ServiceIndex,
        ready: &mut Vec<ServiceIndex>,
        registry_deadline: Instant,
    ) {
        self.quiet_pending -= 1;
        let engine = self.engine;
        if engine.node(i).tracker.is_empty() {
            let began = self.times[i as usize].0;
            let report = engine.finish_stop(i, began, TaskOutcomes::default(), Vec::new());
            self.finished.push_back((i, report));
            self.finish(i, ready);
        } else {
            self.launch_full(i, registry_deadline);
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
    pub(crate) async fn next(
        &mut self,
        registry_deadline: Instant,
    ) -> Option<(ServiceIndex, StopReport)> {
        loop {
            let none_running = self.none_running();
            if none_running {
                self.deadlines.clear();
            }
            if let Some(finished) = self.finished.pop_front() {
                return Some(finished);
            }
            if none_running {
                return None;
            }
            let engine = self.engine;
            let Self {
                in_flight,
                deadlines,
                quiet_pending,
                ..
            } = self;
            let waiting_quiet = *quiet_pending > 0;
            // One task drives many stops: the coop budget would make it thrash.
            let woke = tokio::task::unconstrained(std::future::poll_fn(|cx| {
                if waiting_quiet {
                    // Registered before looking, so a task that queues after the look wakes us.
                    engine.quiet_waker.register(cx.waker());
                    if !lock(&engine.quiet).is_empty() {
                        return Poll::Ready(Woke::Quiet);
                    }
                }
                if !in_flight.is_empty()
                    && let Poll::Ready(Some((i, report))) = in_flight.poll_next_unpin(cx)
                {
                    return Poll::Ready(Woke::Stopped(i, report));
                }
                match deadlines.timer().map(|timer| timer.poll(cx)) {
                    Some(Poll::Ready(())) => Poll::Ready(Woke::Deadline),
                    _ => Poll::Pending,
                }
            }))
            .await;
            let mut ready = Vec::new();
            match woke {
                Woke::Quiet => {
                    std::mem::swap(&mut *lock(&engine.quiet), &mut self.quiet_taken);
                    let mut taken = std::mem::take(&mut self.quiet_taken);
                    for &i in &taken {
                        self.quieted(i, &mut ready, registry_deadline);
                    }
                    taken.clear();
                    self.quiet_taken = taken;
                }
                Woke::Stopped(i, report) => {
                    self.finished.push_back((i, report));
                    self.finish(i, &mut ready);
                }
                Woke::Deadline => {
                    let mut due = Vec::new();
                    self.deadlines.fire(Instant::now(), &mut due);
                    // Their deadline has come: the full stop aborts what is still running.
                    let overdue = CancellationToken::new();
                    overdue.cancel();
                    for (at, i) in due {
                        // Claimed here only if still waiting for this very deadline.
                        if self.times[i as usize].1 == at && engine.node(i).quiet.disarm() {
                            self.quiet_pending -= 1;
                            self.launch_full_with(i, overdue.clone(), registry_deadline);
                        }
                    }
                }
            }
            self.launch(ready, registry_deadline);
        }
    }
}

impl Engine {
    /// One service's stop. It was cancelled at `began`; its tasks get until `grace` fires.
    async fn stop_service(
        self: &Arc<Self>,
        i: ServiceIndex,
        began: Instant,
        grace: CancellationToken,
        registry_deadline: Instant,
    ) -> (ServiceIndex, StopReport) {
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
    ) -> StopReport {
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
        // Built only when there is something to report: the clean path allocates nothing.
        let errors = if failed.is_none() && during_stop.is_empty() && hook_errors.is_empty() {
            Vec::new()
        } else {
            failed
                .into_iter()
                .chain(during_stop)
                .chain(hook_errors)
                .collect()
        };
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
            child_failures: node.children.take_failures(),
        };
        tracing::info!(service = %node.name, duration = ?report.duration, "stopped");
        report
    }

    async fn run_stop_hook(
        self: &Arc<Self>,
        i: ServiceIndex,
        until: Instant,
    ) -> Result<(), ServiceError> {
        let node = self.node(i);
        let now = Instant::now();
        let error = |source| ServiceError::new(node.name.to_string(), Phase::Stop, source);
        if until <= now {
            return Err(error(
                "skipped: the registry's shutdown deadline had passed".into(),
            ));
        }
        let current = crate::Shutdown::new(Arc::clone(self), i);
        let hook = crate::task::CURRENT.scope(
            current,
            AssertUnwindSafe(node.service.stop_hook()).catch_unwind(),
        );
        match timeout_at(until, hook).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(error(e)),
            Ok(Err(panic)) => Err(error(Box::new(Panicked::from_payload(&*panic)))),
            Err(_) => Err(error(Box::new(TimedOut(until - now)))),
        }
    }
}
