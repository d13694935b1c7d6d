//! Periodic and supervised background tasks, on paused time: two minutes of a 30 s schedule
//! run in microseconds, and stop does not wait for the next tick (the original's thread slept
//! up to 60 s before it noticed it should stop).
//!
//! `cargo run -p lifecycle-examples --example periodic`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{Registry, Service, Shutdown};
use tokio::time::Instant;

#[derive(Service)]
#[service(tasks)]
struct Refresher {
    runs: AtomicU32,
    flaky_runs: AtomicU32,
    started: std::sync::OnceLock<Instant>,
}

#[lifecycle_core::tasks]
impl Refresher {
    #[on_start]
    fn remember_start(&self) {
        let _ = self.started.set(Instant::now());
    }

    /// Every 30 s, first run at once. Stops at once: the wait between runs is cancelled.
    #[background_task(every = "30s")]
    async fn refresh(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        let at = self.started.get().map(Instant::elapsed).unwrap_or_default();
        println!(
            "refresh #{n} at t={:>3}s (cancelled: {})",
            at.as_secs(),
            shutdown.is_cancelled()
        );
        Ok(())
    }

    /// Fails every other run; each failure delays the next run by the backoff (1 s, 2 s, 4 s…
    /// capped at 10 s) instead of a fixed sleep. `jitter = 0.0` keeps the schedule exact.
    #[background_task(every = "20s", backoff = "1s", max_backoff = "10s", jitter = 0.0)]
    async fn flaky(&self) -> Result<(), std::io::Error> {
        let n = self.flaky_runs.fetch_add(1, Ordering::SeqCst) + 1;
        let at = self.started.get().map(Instant::elapsed).unwrap_or_default();
        if n.is_multiple_of(2) {
            println!(
                "flaky   #{n} at t={:>3}s: failing, retried after the backoff",
                at.as_secs()
            );
            return Err(std::io::Error::other("upstream timed out"));
        }
        println!("flaky   #{n} at t={:>3}s: ok", at.as_secs());
        Ok(())
    }
}

#[derive(Registry)]
struct App {
    refresher: Refresher,
}

// Paused time: the clock only moves when every task waits, so 2 minutes take microseconds.
#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wall = std::time::Instant::now();
    let running = App::builder().build()?.start().await?;
    let refresher = std::sync::Arc::clone(&running.refresher);
    tokio::time::sleep(Duration::from_secs(125)).await;
    let before_stop = Instant::now();
    let report = running.stop().await;
    let stop_took = before_stop.elapsed();
    println!(
        "stopped in {stop_took:?} of virtual time; {} refreshes, {} flaky runs; {:?} of real time in all",
        refresher.runs.load(Ordering::SeqCst),
        refresher.flaky_runs.load(Ordering::SeqCst),
        wall.elapsed()
    );
    assert_eq!(
        refresher.runs.load(Ordering::SeqCst),
        5,
        "t = 0, 30, 60, 90, 120 s"
    );
    assert!(stop_took < Duration::from_millis(1));
    assert!(report.is_clean(), "{}", report.summary());
    Ok(())
}
