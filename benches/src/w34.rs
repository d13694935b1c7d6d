//! Workload 3 (stop latency of one service whose periodic task sleeps in a 30 s interval) and
//! workload 4 (a task that ignores cancellation, `stop_timeout = 100ms`).

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{DynRegistry, Service, Shutdown};
use tokio::time::Instant;
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::w1::{DerivedTicker, Variant};
use crate::{BoxedError, Ticker, Ticks, nanos_since, periodic_loop};

/// The stop timeout of workload 4.
pub const STUCK_TIMEOUT: Duration = Duration::from_millis(100);

/// Workload 3: starts one service, waits for its first tick, and returns the time from the stop
/// request to the stop's return, in nanoseconds.
pub async fn stop_latency(variant: Variant) -> u64 {
    let ticks = Ticks::new(1);
    let service = Arc::new(Ticker {
        ticks: Arc::clone(&ticks),
    });
    match variant {
        Variant::Lifecycle => {
            let mut registry = DynRegistry::new();
            registry.add(Arc::new(DerivedTicker::new(Arc::clone(&ticks))));
            let running = registry
                .build()
                .expect("build")
                .start()
                .await
                .expect("start");
            ticks.wait().await;
            let t0 = Instant::now();
            let report = running.stop().await;
            let ns = nanos_since(t0);
            assert!(report.is_clean());
            ns
        }
        Variant::HandWritten => {
            let token = CancellationToken::new();
            let tracker = TaskTracker::new();
            let child = token.child_token();
            tracker.spawn(async move { periodic_loop(&service, child.cancelled()).await });
            ticks.wait().await;
            let t0 = Instant::now();
            token.cancel();
            tracker.close();
            tracker.wait().await;
            nanos_since(t0)
        }
        Variant::Tgs => {
            let shutdown = CancellationToken::new();
            let toplevel = Toplevel::<BoxedError>::new_with_shutdown_token(
                async move |root: &mut SubsystemHandle| {
                    root.start(SubsystemBuilder::new(
                        "ticker",
                        async move |subsys: &mut SubsystemHandle| {
                            periodic_loop(&service, subsys.on_shutdown_requested()).await;
                            Ok::<(), BoxedError>(())
                        },
                    ));
                },
                shutdown.clone(),
            );
            let done = tokio::spawn(toplevel.handle_shutdown_requests(Duration::from_secs(25)));
            ticks.wait().await;
            let t0 = Instant::now();
            shutdown.cancel();
            done.await.expect("join").expect("tgs shutdown");
            nanos_since(t0)
        }
    }
}

/// A service whose only task ignores its `Shutdown` and sleeps forever (cooperative: it takes
/// a `Shutdown`, so it is not dropped at once; it just never looks at it).
#[derive(Debug, Service)]
#[service(stop_timeout = "100ms", tasks)]
pub struct Stuck {
    #[service(default = Ticks::new(1))]
    started: Arc<Ticks>,
}

#[lifecycle_core::tasks]
impl Stuck {
    #[background_task]
    async fn stuck(&self, _shutdown: Shutdown) {
        ignore_cancellation(&self.started).await;
    }
}

async fn ignore_cancellation(started: &Ticks) {
    started.tick();
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// Workload 4: the stop's wall time in nanoseconds, and what the stop reported about the
/// stuck task (its name, if the variant names it).
pub async fn stuck_task(variant: Variant) -> (u64, String) {
    let started = Ticks::new(1);
    match variant {
        Variant::Lifecycle => {
            let mut registry = DynRegistry::new();
            registry.add(Arc::new(Stuck {
                started: Arc::clone(&started),
            }));
            let running = registry
                .build()
                .expect("build")
                .start()
                .await
                .expect("start");
            started.wait().await;
            let t0 = Instant::now();
            let report = running.stop().await;
            let ns = nanos_since(t0);
            let service = &report.services[0];
            (
                ns,
                format!(
                    "service `{}`: aborted {:?}, still running {:?}",
                    service.service, service.tasks_aborted, service.tasks_still_running
                ),
            )
        }
        Variant::HandWritten => {
            let token = CancellationToken::new();
            let tracker = TaskTracker::new();
            let s = Arc::clone(&started);
            let handle = tracker.spawn(async move { ignore_cancellation(&s).await });
            started.wait().await;
            let t0 = Instant::now();
            token.cancel();
            tracker.close();
            let mut aborted = Vec::new();
            if tokio::time::timeout(STUCK_TIMEOUT, tracker.wait())
                .await
                .is_err()
            {
                handle.abort();
                aborted.push("stuck");
                let _ = handle.await;
            }
            let ns = nanos_since(t0);
            (ns, format!("aborted {aborted:?} (names written by hand)"))
        }
        Variant::Tgs => {
            let shutdown = CancellationToken::new();
            let s = Arc::clone(&started);
            let toplevel = Toplevel::<BoxedError>::new_with_shutdown_token(
                async move |root: &mut SubsystemHandle| {
                    root.start(SubsystemBuilder::new(
                        "stuck",
                        async move |_subsys: &mut SubsystemHandle| {
                            ignore_cancellation(&s).await;
                            Ok::<(), BoxedError>(())
                        },
                    ));
                },
                shutdown.clone(),
            );
            let done = tokio::spawn(toplevel.handle_shutdown_requests(STUCK_TIMEOUT));
            started.wait().await;
            let t0 = Instant::now();
            shutdown.cancel();
            let result = done.await.expect("join");
            let ns = nanos_since(t0);
            (ns, format!("{result:?}"))
        }
    }
}
