//! The workloads of the benchmark harness, each implemented three ways:
//!
//! * **lifecycle**: services in a lifecycle registry (`DynRegistry`);
//! * **hand-written**: `CancellationToken` child tokens and a `TaskTracker`, written the way a
//!   careful user would write it with tokio-util alone;
//! * **tokio-graceful-shutdown** (tgs): one subsystem per service under one `Toplevel`.
//!
//! All three do the same work: the same periodic task (period 30 s, first tick at once, its
//! body bumps one shared counter), the same `Arc` per service, the same runtime (multi-thread,
//! 2 workers, no tracing subscriber). The bench binary (`src/bin/lifecycle-bench.rs`) runs
//! them in fresh processes, interleaved, and the criterion target (`benches/start_stop.rs`)
//! runs the small sizes in process.
#![forbid(unsafe_code)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior};

pub mod w1;
pub mod w2;
pub mod w34;

/// tokio-graceful-shutdown's default error type (its alias is private).
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The period of every workload's periodic task.
pub const PERIOD: Duration = Duration::from_secs(30);

/// The one runtime configuration of every variant: multi-thread, 2 workers, timers on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What every periodic task does per tick: bump a shared counter; the `n`-th tick wakes the
/// harness (so it knows every task has been polled and armed its interval).
#[derive(Debug)]
pub struct Ticks {
    count: AtomicUsize,
    target: usize,
    all: Notify,
}

impl Ticks {
    /// A counter that wakes [`wait`](Self::wait) at `target` ticks.
    pub fn new(target: usize) -> Arc<Self> {
        Arc::new(Self {
            count: AtomicUsize::new(0),
            target,
            all: Notify::new(),
        })
    }

    /// One tick.
    pub fn tick(&self) {
        if self.count.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            self.all.notify_one();
        }
    }

    /// Completes once `target` ticks happened.
    pub async fn wait(&self) {
        loop {
            let notified = self.all.notified();
            if self.count.load(Ordering::Relaxed) >= self.target {
                return;
            }
            notified.await;
        }
    }

    /// Ticks so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// The user's service state in every variant: one `Arc` each, holding the shared counter.
#[derive(Debug)]
pub struct Ticker {
    /// The shared tick counter.
    pub ticks: Arc<Ticks>,
}

impl Ticker {
    /// The periodic task's body.
    pub async fn tick(&self) {
        self.ticks.tick();
    }
}

/// The hand-written periodic loop (also the body of each tgs subsystem): tick at once, then
/// every `PERIOD`, until `cancelled` completes.
pub async fn periodic_loop<C: Future<Output = ()>>(service: &Ticker, cancelled: C) {
    let mut interval = tokio::time::interval(PERIOD);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(cancelled);
    loop {
        tokio::select! {
            biased;
            () = &mut cancelled => return,
            _ = interval.tick() => service.tick().await,
        }
    }
}

/// Seeded SplitMix64: the fixed-seed randomness of workload 2.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// Time since `t0` in nanoseconds.
pub fn nanos_since(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Resident set size of this process in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Order statistics of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 25th percentile (nearest rank).
    pub p25: f64,
    /// 75th percentile (nearest rank).
    pub p75: f64,
    /// Sample size.
    pub n: usize,
}

impl Summary {
    /// Summarises `values` (must not be empty).
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let rank = |q: f64| v[((q * (n - 1) as f64).round() as usize).min(n - 1)];
        Self {
            median,
            min: v[0],
            max: v[n - 1],
            p25: rank(0.25),
            p75: rank(0.75),
            n,
        }
    }
}
