//! Workload 1: start + stop of N services, each with one periodic task (period 30 s).
//!
//! Every variant is timed the same way: `start` runs from before the first service object is
//! allocated until the framework says all N are started (tasks spawned); then the harness
//! waits, untimed, until every task has ticked once (so every interval is armed: the steady
//! state) and calls `probe` (memory is sampled there); `stop` runs from the stop request until
//! the framework says every task has ended.

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{DynRegistry, Service};
use tokio::time::Instant;
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{BoxedError, Ticker, Ticks, nanos_since, periodic_loop};

/// The three implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// (a) lifecycle `DynRegistry`.
    Lifecycle,
    /// (b) hand-written child tokens + `TaskTracker`.
    HandWritten,
    /// (c) tokio-graceful-shutdown, one subsystem per service.
    Tgs,
}

impl Variant {
    /// All of them, in the order (a), (b), (c).
    pub const ALL: [Variant; 3] = [Variant::Lifecycle, Variant::HandWritten, Variant::Tgs];

    /// Short name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Lifecycle => "lifecycle",
            Variant::HandWritten => "hand-written",
            Variant::Tgs => "tgs",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Start and stop wall time of one run, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// From the first allocation to "all started".
    pub start_ns: u64,
    /// From the stop request to "every task ended".
    pub stop_ns: u64,
}

/// The lifecycle variant's service: the same state as [`Ticker`], its periodic task declared
/// with the derive (no hooks, no health check; a task without a `Shutdown` parameter is dropped
/// at once on cancel).
#[derive(Debug, Service)]
#[service(tasks)]
pub struct DerivedTicker {
    #[service(default = Ticks::new(0))]
    ticks: Arc<Ticks>,
}

#[lifecycle_core::tasks]
impl DerivedTicker {
    #[background_task(every = "30s")]
    async fn tick(&self) {
        self.ticks.tick();
    }
}

impl DerivedTicker {
    /// A service bumping `ticks`.
    pub fn new(ticks: Arc<Ticks>) -> Self {
        Self { ticks }
    }
}

/// Runs one start + stop of `n` services with `variant`. `probe` is called between the two,
/// once every task has ticked; it may sample memory or end the process.
pub async fn run(variant: Variant, n: usize, probe: &mut dyn FnMut()) -> Timing {
    match variant {
        Variant::Lifecycle => lifecycle(n, probe).await,
        Variant::HandWritten => hand_written(n, probe).await,
        Variant::Tgs => tgs(n, probe).await,
    }
}

async fn lifecycle(n: usize, probe: &mut dyn FnMut()) -> Timing {
    let ticks = Ticks::new(n);
    let t0 = Instant::now();
    let mut registry = DynRegistry::new();
    for i in 0..n {
        // Names are unique in a registry: reports tell services apart.
        registry.add_named(
            format!("ticker-{i}"),
            Arc::new(DerivedTicker::new(Arc::clone(&ticks))),
        );
    }
    let running = registry
        .build()
        .expect("build")
        .start()
        .await
        .expect("start");
    let start_ns = nanos_since(t0);
    ticks.wait().await;
    probe();
    let t1 = Instant::now();
    let report = running.stop().await;
    let stop_ns = nanos_since(t1);
    assert_eq!(report.services.len(), n);
    assert!(report.is_clean(), "unclean stop: {report:?}");
    Timing { start_ns, stop_ns }
}

async fn hand_written(n: usize, probe: &mut dyn FnMut()) -> Timing {
    let ticks = Ticks::new(n);
    let t0 = Instant::now();
    let root = CancellationToken::new();
    let tracker = TaskTracker::new();
    for _ in 0..n {
        let service = Arc::new(Ticker {
            ticks: Arc::clone(&ticks),
        });
        let token = root.child_token();
        tracker.spawn(async move { periodic_loop(&service, token.cancelled()).await });
    }
    let start_ns = nanos_since(t0);
    ticks.wait().await;
    probe();
    let t1 = Instant::now();
    root.cancel();
    tracker.close();
    tracker.wait().await;
    let stop_ns = nanos_since(t1);
    Timing { start_ns, stop_ns }
}

async fn tgs(n: usize, probe: &mut dyn FnMut()) -> Timing {
    let ticks = Ticks::new(n);
    let t0 = Instant::now();
    let shutdown = CancellationToken::new();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let shared = Arc::clone(&ticks);
    let toplevel = Toplevel::<BoxedError>::new_with_shutdown_token(
        async move |root: &mut SubsystemHandle| {
            for _ in 0..n {
                let service = Arc::new(Ticker {
                    ticks: Arc::clone(&shared),
                });
                root.start(SubsystemBuilder::new(
                    "ticker",
                    async move |subsys: &mut SubsystemHandle| {
                        periodic_loop(&service, subsys.on_shutdown_requested()).await;
                        Ok::<(), BoxedError>(())
                    },
                ));
            }
            let _ = started_tx.send(());
        },
        shutdown.clone(),
    );
    let done = tokio::spawn(toplevel.handle_shutdown_requests(Duration::from_secs(25)));
    started_rx.await.expect("tgs root started");
    let start_ns = nanos_since(t0);
    ticks.wait().await;
    probe();
    let t1 = Instant::now();
    shutdown.cancel();
    done.await.expect("join").expect("tgs shutdown");
    let stop_ns = nanos_since(t1);
    Timing { start_ns, stop_ns }
}
