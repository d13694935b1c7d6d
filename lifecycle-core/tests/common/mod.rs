//! A configurable hand-written service for engine tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{BoxError, Cancel, Service, Shutdown, TaskSpawner, TaskSpec};

#[derive(Clone, Default)]
pub struct Probe {
    pub start_delay: Duration,
    pub start_error: Option<&'static str>,
    pub start_panic: bool,
    pub stop_delay: Duration,
    pub stop_error: Option<&'static str>,
    pub task: Option<ProbeTask>,
    pub starts: Arc<AtomicU32>,
    pub stops: Arc<AtomicU32>,
    pub runs: Arc<AtomicU32>,
}

#[derive(Clone)]
pub enum ProbeTask {
    /// Periodic, does nothing.
    Periodic(Duration),
    /// Ignores cancellation: sleeps an hour, cooperatively.
    Stuck,
    /// Panics on every run; restarted with this spec.
    Panics(TaskSpec),
    /// Fails on every run with an error; restarted with this spec.
    Fails(TaskSpec),
    /// Waits for shutdown and spawns a child that ignores it.
    StuckChild,
    /// A blocking task that never checks its shutdown (for `dur`).
    BlockingStuck(Duration),
    /// Asks its registry to stop after `dur` (from inside, no handle), then waits.
    RequestsStop(Duration),
}

impl Probe {
    pub fn periodic(every: Duration) -> Self {
        Self {
            task: Some(ProbeTask::Periodic(every)),
            ..Self::default()
        }
    }
    pub fn with_task(task: ProbeTask) -> Self {
        Self {
            task: Some(task),
            ..Self::default()
        }
    }
    pub fn runs(&self) -> u32 {
        self.runs.load(Ordering::SeqCst)
    }
}

impl Service for Probe {
    const NAME: &'static str = "Probe";

    async fn on_start(&self) -> Result<(), BoxError> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        if !self.start_delay.is_zero() {
            tokio::time::sleep(self.start_delay).await;
        }
        if self.start_panic {
            panic!("probe start panicked");
        }
        match self.start_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    async fn on_stop(&self) -> Result<(), BoxError> {
        self.stops.fetch_add(1, Ordering::SeqCst);
        if !self.stop_delay.is_zero() {
            tokio::time::sleep(self.stop_delay).await;
        }
        match self.stop_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let runs = Arc::clone(&self.runs);
        match self.task.clone() {
            None => {}
            Some(ProbeTask::Periodic(every)) => tasks.spawn(
                TaskSpec::periodic("tick", every).cancel(Cancel::Drop),
                move |_| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    async {}
                },
            ),
            Some(ProbeTask::Stuck) => tasks.spawn(TaskSpec::new("stuck"), move |_: Shutdown| {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3600))
            }),
            Some(ProbeTask::Panics(spec)) => tasks.spawn(spec, move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                async {
                    if true {
                        panic!("boom");
                    }
                }
            }),
            Some(ProbeTask::Fails(spec)) => tasks.spawn(spec, move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(std::io::Error::other("task failed")) }
            }),
            Some(ProbeTask::StuckChild) => {
                tasks.spawn(TaskSpec::new("acceptor"), move |shutdown: Shutdown| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    shutdown.spawn(tokio::time::sleep(Duration::from_secs(3600)));
                    async move { shutdown.cancelled().await }
                })
            }
            Some(ProbeTask::RequestsStop(after)) => {
                tasks.spawn(TaskSpec::new("quits"), move |shutdown: Shutdown| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    async move {
                        tokio::time::sleep(after).await;
                        shutdown.request_stop();
                        shutdown.cancelled().await;
                    }
                })
            }
            Some(ProbeTask::BlockingStuck(dur)) => {
                tasks.spawn_blocking(TaskSpec::new("crunch"), move |_| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(dur);
                })
            }
        }
    }
}

/// A current-thread runtime on paused (virtual) time, for tests that drive it themselves
/// (property tests run one per case).
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

/// The dependencies of a random graph spec (one `(dependencies, …)` per service), made a
/// DAG: each service depends only on services before it, sorted, without repeats.
pub fn acyclic_deps<A, B>(spec: &[(Vec<usize>, A, B)]) -> Vec<Vec<usize>> {
    spec.iter()
        .enumerate()
        .map(|(i, (d, _, _))| {
            let mut d: Vec<usize> = d.iter().copied().filter(|&x| x < i).collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect()
}
