//! The stop scheduler: a service stops only after all its dependents stopped; independent
//! services stop concurrently; every step is bounded by the registry-wide deadline.
//!
//! Fast path: every service that may stop now is cancelled in one sweep, its tasks get one
//! scheduler turn, and the services left with no task and no stop hook finish right there.
//! Only the others get a future (tasks still running, a hook, or a stop someone else runs).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::{Instant, timeout_at};
use tracing::Instrument;

use super::stop_once::Claim;
use super::{Engine, StopReport, lock};
use crate::error::{Panicked, TimedOut};
use crate::events::ServiceIndex;
use crate::{Phase, ServiceError, State};

/// How long aborted tasks get to be dropped before they are reported as still running.
const ABORT_GRACE: Duration = Duration::from_millis(5);

/// What the slow path found about the tasks.
#[derive(Default)]
struct TaskOutcomes {
    aborted: Vec<String>,
    still_running: Vec<String>,
    blocking_still_running: Vec<String>,
    children_aborted: usize,
}

/// One or more services' stops (the drain of the fast path finishes many in one future).
type StopFuture<'a> = BoxFuture<'a, Vec<(ServiceIndex, Arc<StopReport>)>>;

impl Engine {
    /// Stops the services in `member` in reverse dependency order. Services never started (or
    /// whose start was dropped or failed) are skipped. Returns reports in stop order.
    pub(crate) async fn stop_set(
        self: &Arc<Self>,
        member: &[bool],
        deadline: Instant,
    ) -> Vec<Arc<StopReport>> {
        let n = self.nodes.len();
        // How many member dependents each service still waits for.
        let mut waiting_on: Vec<u32> = (0..n as ServiceIndex)
            .map(|i| {
                self.graph
                    .dependents(i)
                    .iter()
                    .filter(|&&d| member[d as usize])
                    .count() as u32
            })
            .collect();
        let mut ready: Vec<ServiceIndex> = (0..n as ServiceIndex)
            .filter(|&i| member[i as usize] && waiting_on[i as usize] == 0)
            .collect();
        let mut in_flight: FuturesUnordered<StopFuture<'_>> = FuturesUnordered::new();
        let mut cancelled: Vec<(ServiceIndex, Claim<'_>, Instant)> = Vec::new();
        let mut reports = Vec::new();
        loop {
            // One clock read per sweep: every service cancelled in it began stopping now.
            let now = Instant::now();
            while let Some(i) = ready.pop() {
                let node = self.node(i);
                let state = node.state.get();
                if state == State::New || (state.is_terminal() && node.stop_report.get().is_none())
                {
                    self.release_deps(i, member, &mut waiting_on, &mut ready);
                } else if let Some(claim) = node.stop_report.try_claim(&self.stop_done) {
                    cancelled.push((i, claim, self.begin_stop(i, now)));
                } else {
                    let elsewhere = self.stop_claimed_elsewhere(i, deadline);
                    in_flight.push(Box::pin(async move { vec![elsewhere.await] }));
                }
            }
            if !cancelled.is_empty() {
                self.finish_cancelled(&mut cancelled, &mut in_flight, deadline, |i, report| {
                    reports.push(report);
                    self.release_deps(i, member, &mut waiting_on, &mut ready);
                })
                .await;
                if !ready.is_empty() {
                    continue;
                }
            }
            // One task drives many tokio futures here: the coop budget would make it thrash.
            let Some(stopped) = tokio::task::unconstrained(in_flight.next()).await else {
                break;
            };
            for (i, report) in stopped {
                reports.push(report);
                self.release_deps(i, member, &mut waiting_on, &mut ready);
            }
        }
        reports
    }

    /// The fast path. Services with a stop hook go to the slow path at once. The others are
    /// finished in cancellation order as their trackers empty, yielding to let their tasks
    /// run; once no task has ended for a few turns, the rest are drained by one future that
    /// waits for each tracker in turn (a timer only while one is pending).
    async fn finish_cancelled<'a>(
        &'a self,
        cancelled: &mut Vec<(ServiceIndex, Claim<'a>, Instant)>,
        in_flight: &mut FuturesUnordered<StopFuture<'a>>,
        deadline: Instant,
        mut finished: impl FnMut(ServiceIndex, Arc<StopReport>),
    ) {
        const IDLE_TURNS: u32 = 3;
        let mut idle_turns = 0;
        let mut queue = std::collections::VecDeque::with_capacity(cancelled.len());
        for (i, claim, began) in cancelled.drain(..) {
            if self.node(i).service.has_stop_hook() {
                in_flight.push(self.slow(i, claim, began, deadline));
            } else {
                queue.push_back((i, claim, began));
            }
        }
        // Progress is measured by the runtime's count of live tasks: one atomic load.
        let metrics = tokio::runtime::Handle::current().metrics();
        let mut alive = metrics.num_alive_tasks();
        let mut now = Instant::now();
        while let Some((i, _, _)) = queue.front() {
            if self.node(*i).tracker.is_empty() {
                if let Some((i, claim, began)) = queue.pop_front() {
                    let outcomes = TaskOutcomes::default();
                    let report = self.finish_stop(i, began, now, outcomes, Vec::new());
                    finished(i, claim.complete(report));
                }
                idle_turns = 0;
                continue;
            }
            if idle_turns == IDLE_TURNS {
                break;
            }
            tokio::task::yield_now().await;
            now = Instant::now();
            let now_alive = metrics.num_alive_tasks();
            if now_alive < alive {
                idle_turns = 0;
            } else {
                idle_turns += 1;
            }
            alive = now_alive;
        }
        if !queue.is_empty() {
            in_flight.push(Box::pin(self.drain(queue, deadline)));
        }
    }

    /// Finishes cancelled services without stop hooks in order: each tracker is awaited until
    /// that service's own deadline (absolute, so waiting in turn costs no extra time); one that
    /// is not done by then takes the slow path (abort, report).
    async fn drain<'a>(
        &'a self,
        queue: std::collections::VecDeque<(ServiceIndex, Claim<'a>, Instant)>,
        deadline: Instant,
    ) -> Vec<(ServiceIndex, Arc<StopReport>)> {
        let mut stopped = Vec::with_capacity(queue.len());
        for (i, claim, began) in queue {
            let node = self.node(i);
            let grace_until = (began + node.options.stop_timeout()).min(deadline);
            if timeout_at(grace_until, node.tracker.wait()).await.is_ok() {
                let report = self.finish_stop(
                    i,
                    began,
                    Instant::now(),
                    TaskOutcomes::default(),
                    Vec::new(),
                );
                stopped.push((i, claim.complete(report)));
            } else {
                stopped.push(self.stop_slow(i, claim, began, deadline).await);
            }
        }
        stopped
    }

    fn slow<'a>(
        &'a self,
        i: ServiceIndex,
        claim: Claim<'a>,
        began: Instant,
        deadline: Instant,
    ) -> StopFuture<'a> {
        let span = tracing::info_span!("stop", service = %self.node(i).name);
        let stop = self.stop_slow(i, claim, began, deadline).instrument(span);
        Box::pin(async move { vec![stop.await] })
    }

    fn release_deps(
        &self,
        i: ServiceIndex,
        member: &[bool],
        waiting_on: &mut [u32],
        ready: &mut Vec<ServiceIndex>,
    ) {
        for &dep in self.graph.deps(i) {
            if member[dep as usize] {
                let count = &mut waiting_on[dep as usize];
                *count -= 1;
                if *count == 0 {
                    ready.push(dep);
                }
            }
        }
    }

    /// Cancel: the service's token (all its tasks see it) and its tracker closes.
    fn begin_stop(&self, i: ServiceIndex, now: Instant) -> Instant {
        let node = self.node(i);
        self.set_state(i, State::Stopping);
        node.token.cancel();
        node.tracker.close();
        now
    }

    /// Another stop (an escalation's) has claimed this service: wait for its report, or take
    /// over if that stop was dropped half-way.
    async fn stop_claimed_elsewhere(
        &self,
        i: ServiceIndex,
        deadline: Instant,
    ) -> (ServiceIndex, Arc<StopReport>) {
        let node = self.node(i);
        loop {
            if let Some(report) = node.stop_report.wait(&self.stop_done).await {
                return (i, report);
            }
            if let Some(claim) = node.stop_report.try_claim(&self.stop_done) {
                let began = self.begin_stop(i, Instant::now());
                return self.stop_slow(i, claim, began, deadline).await;
            }
        }
    }

    /// Tasks finish until `stop_timeout` → abort the rest → `on_stop` → report.
    async fn stop_slow(
        &self,
        i: ServiceIndex,
        claim: Claim<'_>,
        began: Instant,
        deadline: Instant,
    ) -> (ServiceIndex, Arc<StopReport>) {
        let node = self.node(i);
        let grace_until = (began + node.options.stop_timeout()).min(deadline);
        let mut tasks = TaskOutcomes::default();
        if timeout_at(grace_until, node.tracker.wait()).await.is_err() {
            tasks.children_aborted = node.children_alive();
            tasks.aborted = node.abort_tasks();
            // Let the runtime drop what it can; then report what is still there.
            tokio::task::yield_now().await;
            let grace = (Instant::now() + ABORT_GRACE).min(deadline.max(Instant::now()));
            let _ = timeout_at(grace, node.tracker.wait()).await;
            for entry in lock(&node.tasks).iter() {
                let name = || entry.spec.name.to_string();
                match &entry.blocking {
                    // A blocking run cannot be aborted: it goes on until its function returns.
                    Some(in_run) if in_run.load(Ordering::Acquire) => {
                        tasks.blocking_still_running.push(name());
                    }
                    Some(_) => {}
                    None if !entry.abort.is_finished() => tasks.still_running.push(name()),
                    None => {}
                }
            }
            tracing::warn!(service = %node.name, aborted = ?tasks.aborted, "tasks did not finish within stop_timeout");
        }
        let mut errors = Vec::new();
        if node.service.has_stop_hook()
            && let Err(e) = self.run_stop_hook(i, deadline).await
        {
            tracing::error!(service = %node.name, error = %e, "stop hook failed");
            errors.push(Arc::new(e));
        }
        let report = self.finish_stop(i, began, Instant::now(), tasks, errors);
        (i, claim.complete(report))
    }

    /// The final state (Failed if the service failed) and the report.
    fn finish_stop(
        &self,
        i: ServiceIndex,
        began: Instant,
        now: Instant,
        tasks: TaskOutcomes,
        mut errors: Vec<Arc<ServiceError>>,
    ) -> Arc<StopReport> {
        let node = self.node(i);
        let failure = lock(&node.failure).clone();
        let final_state = if failure.is_some() {
            State::Failed
        } else {
            State::Stopped
        };
        if let Some(failure) = failure {
            errors.insert(0, failure);
        }
        self.set_state(i, final_state);
        let report = StopReport {
            service: node.name.clone(),
            state: node.state.get(),
            duration: now.saturating_duration_since(began),
            tasks_aborted: tasks.aborted,
            tasks_still_running: tasks.still_running,
            blocking_still_running: tasks.blocking_still_running,
            children_aborted: tasks.children_aborted,
            errors,
            child_failures: node.children.take_failures(),
        };
        tracing::info!(service = %node.name, duration = ?report.duration, "stopped");
        Arc::new(report)
    }

    async fn run_stop_hook(&self, i: ServiceIndex, deadline: Instant) -> Result<(), ServiceError> {
        let node = self.node(i);
        let now = Instant::now();
        let until = (now + node.options.hook_timeout()).min(deadline);
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
