//! SIGHUP in `run_until_signal` reloads and never stops the registry; SIGTERM then stops it.
//! Its own test binary (one function): signals reach the whole process. SIGHUP is raised at
//! this test's own process only, after the handlers are installed.
#![cfg(unix)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::{BoxError, DynRegistry, Service};

struct Config {
    reloads: AtomicU32,
}

impl Service for Config {
    const NAME: &'static str = "Config";
    const HAS_RELOAD_HOOK: bool = true;

    async fn on_reload(&self) -> Result<(), BoxError> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn send(signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits (real time, bounded) until `reloads` reaches `n`.
async fn reloads_reach(config: &Config, n: u32) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while config.reloads.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the reload ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_without_stopping_and_sigterm_still_stops() {
    let config = Arc::new(Config {
        reloads: AtomicU32::new(0),
    });
    let mut registry = DynRegistry::new();
    registry.add(Arc::clone(&config));
    let built = registry.build().unwrap();
    let handle = built.handle();
    let run = tokio::spawn(built.run_until_signal());
    // Handlers are installed before start-up: once started, SIGHUP cannot kill us.
    tokio::time::timeout(Duration::from_secs(5), async {
        while !handle.is_started() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("started");

    send("-HUP");
    reloads_reach(&config, 1).await;
    assert!(!handle.is_stopping(), "SIGHUP never stops the registry");
    send("-HUP");
    reloads_reach(&config, 2).await;
    assert!(!handle.is_stopping());
    assert!(!run.is_finished());

    send("-TERM");
    let report = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("stopped in time")
        .unwrap()
        .expect("a clean stop");
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(config.reloads.load(Ordering::SeqCst), 2);
}
