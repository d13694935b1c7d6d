//! The start scheduler: Kahn's algorithm with in-degree counters; start hooks polled
//! concurrently in one `FuturesUnordered`; rollback on the first failure.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;
use tracing::Instrument;

use super::{Engine, ServiceTiming, StartupRecord, StartupReport, lock};
use crate::error::{Panicked, TimedOut};
use crate::events::ServiceIndex;
use crate::task::{Nanos, TaskSpawner};
use crate::{BoxError, Phase, ServiceError, State};

impl Engine {
    /// Starts every service in dependency order, independent ones concurrently. Returns the
    /// first failure (the service is then Failed). Run by the control task, which drops this
    /// future to cancel start-up: hooks in flight are dropped with it (they get no `on_stop`).
    pub(crate) async fn start_all(self: &Arc<Self>) -> Result<(), Arc<ServiceError>> {
        let began = Instant::now();
        let n = self.nodes.len();
        let mut waiting_on: Vec<u32> = (0..n as ServiceIndex)
            .map(|i| self.graph.deps(i).len() as u32)
            .collect();
        let mut ready: Vec<ServiceIndex> = (0..n as ServiceIndex)
            .filter(|&i| waiting_on[i as usize] == 0)
            .rev()
            .collect();
        let mut times: Vec<(Instant, Instant)> = vec![(began, began); n];
        let mut order: Vec<ServiceIndex> = Vec::with_capacity(n);
        let mut in_flight = FuturesUnordered::new();

        loop {
            // One clock read per batch: services without a hook take no measurable time.
            let now = Instant::now();
            while let Some(i) = ready.pop() {
                self.set_state(i, State::Starting);
                times[i as usize].0 = now;
                if self.node(i).service.has_start_hook() {
                    in_flight.push(self.run_start_hook(i));
                } else {
                    times[i as usize].1 = now;
                    self.mark_running(i, &mut waiting_on, &mut ready)?;
                    order.push(i);
                }
            }
            // One task drives many hooks: the coop budget would make it thrash.
            let Some((i, result)) = tokio::task::unconstrained(in_flight.next()).await else {
                break;
            };
            times[i as usize].1 = Instant::now();
            match result {
                Ok(()) => {
                    self.mark_running(i, &mut waiting_on, &mut ready)?;
                    order.push(i);
                }
                Err((phase, source)) => return Err(self.start_failed(i, phase, source)),
            }
        }

        // Kept compact (20 bytes a service); the report is built when someone asks.
        let offsets = times
            .iter()
            .map(|&(from, to)| (Nanos::new(from - began), Nanos::new(to - began)))
            .collect();
        *lock(&self.startup) = Some(StartupRecord {
            total: began.elapsed(),
            offsets,
            order: order.into_boxed_slice(),
        });
        Ok(())
    }

    /// Marks a service Failed in start: the error is kept (as the service's failure too).
    fn start_failed(&self, i: ServiceIndex, phase: Phase, source: BoxError) -> Arc<ServiceError> {
        let node = self.node(i);
        tracing::error!(service = %node.name, %phase, error = %source, "start failed");
        let error = Arc::new(ServiceError::new(node.name.to_string(), phase, source));
        lock(&node.failures).failed = Some(Arc::clone(&error));
        self.set_state(i, State::Failed);
        error
    }

    /// The hook of one service, bounded by its start timeout, panics caught. One future type
    /// for every service, so `FuturesUnordered` holds them without boxing the scheduler.
    async fn run_start_hook(
        &self,
        i: ServiceIndex,
    ) -> (ServiceIndex, Result<(), (Phase, BoxError)>) {
        let node = self.node(i);
        let hook = AssertUnwindSafe(node.service.start_hook()).catch_unwind();
        let span = tracing::info_span!("start", service = %node.name);
        let outcome = match node.options.start_timeout() {
            Some(limit) => match tokio::time::timeout(limit, hook).instrument(span).await {
                Ok(r) => r,
                Err(_) => return (i, Err((Phase::StartTimeout, Box::new(TimedOut(limit))))),
            },
            None => hook.instrument(span).await,
        };
        let result = match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err((Phase::Start, e)),
            Err(panic) => Err((
                Phase::StartPanic,
                Box::new(Panicked::from_payload(&*panic)) as BoxError,
            )),
        };
        (i, result)
    }

    /// Running: spawn its tasks, then release the dependents that waited only on it. A task
    /// spec the derive would have rejected fails the service's start.
    fn mark_running(
        self: &Arc<Self>,
        i: ServiceIndex,
        waiting_on: &mut [u32],
        ready: &mut Vec<ServiceIndex>,
    ) -> Result<(), Arc<ServiceError>> {
        let node = self.node(i);
        let mut spawner = TaskSpawner::new(self, i);
        let spawned = std::panic::catch_unwind(AssertUnwindSafe(|| {
            Arc::clone(&node.service).spawn_all(&mut spawner);
        }));
        if let Err(panic) = spawned {
            node.token.cancel();
            node.abort_tasks();
            let panicked = Box::new(Panicked::from_payload(&*panic));
            return Err(self.start_failed(i, Phase::StartPanic, panicked));
        }
        if let Some(invalid) = spawner.into_invalid() {
            node.token.cancel();
            node.abort_tasks();
            return Err(self.start_failed(i, Phase::Start, Box::new(invalid)));
        }
        self.set_state(i, State::Running);
        tracing::info!(service = %node.name, "running");
        for &dependent in self.graph.dependents(i) {
            let count = &mut waiting_on[dependent as usize];
            *count -= 1;
            if *count == 0 {
                ready.push(dependent);
            }
        }
        Ok(())
    }

    /// Whether start-up finished.
    pub(crate) fn startup_finished(&self) -> bool {
        lock(&self.startup).is_some()
    }

    /// Start-up timings and the critical path, from the compact record.
    pub(crate) fn startup_report(&self) -> StartupReport {
        let record = lock(&self.startup);
        let Some(record) = record.as_ref() else {
            return StartupReport::default();
        };
        let (offsets, order) = (&record.offsets, &record.order);
        let services = order
            .iter()
            .map(|&i| {
                let (from, to) = (offsets[i as usize].0.get(), offsets[i as usize].1.get());
                ServiceTiming {
                    service: self.node(i).name.clone(),
                    began_after: from,
                    duration: to - from,
                }
            })
            .collect();
        // Walk back from the last service to finish along its latest-finishing dependency.
        let mut critical_path = Vec::new();
        let mut current = order
            .iter()
            .copied()
            .max_by_key(|&i| offsets[i as usize].1.get());
        while let Some(i) = current {
            critical_path.push(self.node(i).name.to_string());
            current = self
                .graph
                .deps(i)
                .iter()
                .copied()
                .max_by_key(|&d| offsets[d as usize].1.get());
        }
        critical_path.reverse();
        StartupReport {
            total: record.total,
            services,
            critical_path,
        }
    }
}
