//! The stop scheduler: a service stops only after all its dependents stopped; independent
//! services stop concurrently; every step is bounded by the registry-wide deadline.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::{Instant, timeout_at};
use tracing::Instrument;

use super::{Engine, StopReport, lock};
use crate::error::{Panicked, TimedOut};
use crate::events::ServiceIndex;
use crate::{Phase, ServiceError, State};

/// How long aborted tasks get to be dropped before they are reported as still running.
const ABORT_GRACE: Duration = Duration::from_millis(5);

impl Engine {
    /// Stops the services in `member` in reverse dependency order. Services never started are
    /// skipped (they stay New). Returns reports in stop order.
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
        let mut in_flight = FuturesUnordered::new();
        let mut reports = Vec::new();
        loop {
            while let Some(i) = ready.pop() {
                let state = self.node(i).state.get();
                // Never started, or already ended (failed start, dropped start): nothing to stop.
                if state == State::New
                    || (state.is_terminal() && !self.node(i).stop_report.initialized())
                {
                    self.release_deps(i, member, &mut waiting_on, &mut ready);
                } else {
                    in_flight.push(self.stop_service(i, deadline));
                }
            }
            let Some((i, report)) = in_flight.next().await else {
                break;
            };
            reports.push(report);
            self.release_deps(i, member, &mut waiting_on, &mut ready);
        }
        reports
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

    /// One service's stop, once: later callers get the same report.
    pub(crate) async fn stop_service(
        &self,
        i: ServiceIndex,
        deadline: Instant,
    ) -> (ServiceIndex, Arc<StopReport>) {
        let node = self.node(i);
        let report = node
            .stop_report
            .get_or_init(|| {
                let span = tracing::info_span!("stop", service = %node.name);
                self.stop_once(i, deadline).instrument(span)
            })
            .await;
        (i, Arc::clone(report))
    }

    /// cancel → tasks finish until `stop_timeout` → abort the rest → `on_stop` → report.
    async fn stop_once(&self, i: ServiceIndex, deadline: Instant) -> Arc<StopReport> {
        let node = self.node(i);
        let began = Instant::now();
        self.set_state(i, State::Stopping);
        node.token.cancel();
        node.tracker.close();

        let grace_until = (began + node.options.stop_timeout).min(deadline);
        let mut tasks_aborted = Vec::new();
        let mut tasks_still_running = Vec::new();
        let mut blocking_still_running = Vec::new();
        let mut children_aborted = 0;
        if timeout_at(grace_until, node.tracker.wait()).await.is_err() {
            children_aborted = node.children_alive();
            tasks_aborted = node.abort_tasks();
            // Let the runtime drop what it can; then report what is still there.
            tokio::task::yield_now().await;
            let grace = (Instant::now() + ABORT_GRACE).min(deadline.max(Instant::now()));
            let _ = timeout_at(grace, node.tracker.wait()).await;
            for entry in lock(&node.tasks).iter() {
                if !entry.abort.is_finished() {
                    if entry.blocking {
                        blocking_still_running.push(entry.name.to_string());
                    } else {
                        tasks_still_running.push(entry.name.to_string());
                    }
                }
            }
            tracing::warn!(service = %node.name, aborted = ?tasks_aborted, "tasks did not finish within stop_timeout");
        }

        let mut errors = Vec::new();
        if let Some(failure) = lock(&node.failure).clone() {
            errors.push(failure);
        }
        if node.service.has_stop_hook()
            && let Err(e) = self.run_stop_hook(i, deadline).await
        {
            tracing::error!(service = %node.name, error = %e, "stop hook failed");
            errors.push(Arc::new(e));
        }

        let failed = lock(&node.failure).is_some();
        let final_state = if failed {
            State::Failed
        } else {
            State::Stopped
        };
        self.set_state(i, final_state);
        let report = StopReport {
            service: node.name.to_string(),
            state: node.state.get(),
            duration: began.elapsed(),
            tasks_aborted,
            tasks_still_running,
            blocking_still_running,
            children_aborted,
            errors,
        };
        tracing::info!(service = %node.name, duration = ?report.duration, "stopped");
        Arc::new(report)
    }

    async fn run_stop_hook(&self, i: ServiceIndex, deadline: Instant) -> Result<(), ServiceError> {
        let node = self.node(i);
        let now = Instant::now();
        let until = (now + node.options.hook_timeout).min(deadline);
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
