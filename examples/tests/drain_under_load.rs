//! Shutdown under load, behind a simulated load balancer (issue 12's measurement, bounded and
//! on loopback). 24 keep-alive HTTP clients send requests as fast as they are answered, but
//! only while a "kube-proxy" that polls `/readyz` every 50 ms still routes to the pod. Then a
//! stop is requested (what SIGTERM does). A request that was sent but got no response is lost.
//!
//! - With `drain_delay` = 0 (the default) readiness and the stop begin at the same instant:
//!   the proxy keeps routing for up to one poll interval while the server is already closing.
//!   The number lost is printed (it varies from run to run; see examples/README.md).
//! - With a `drain_delay` of 1 s, readiness turns off at once, the proxy stops routing within
//!   one poll, and the ordered stop begins only after the drain: **no request is lost**
//!   (asserted).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const CLIENTS: usize = 24;
const POLL: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
    lost: AtomicU64,
}

/// Runs the load, requests the stop after 400 ms, and returns (sent, answered, lost).
async fn run(drain: Duration) -> (u64, u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.drain_delay = drain;
    let built = forecast_platform::platform::build(
        config,
        lifecycle_core::RegistryOptions::default().drain_delay(drain),
    )
    .unwrap();
    let running = forecast_platform::platform::start(built).await.unwrap();
    let base = format!("http://{}", running.api.local_addr().unwrap());

    // The load balancer's view of the pod, refreshed by polling /readyz.
    let routed = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicBool::new(false));
    let proxy = {
        let (routed, done, base) = (Arc::clone(&routed), Arc::clone(&done), base.clone());
        tokio::spawn(async move {
            let probe = reqwest::Client::builder()
                .timeout(Duration::from_secs(1))
                .build()
                .unwrap();
            while !done.load(Ordering::Relaxed) {
                let ready = matches!(
                    probe.get(format!("{base}/readyz")).send().await,
                    Ok(r) if r.status() == 200
                );
                routed.store(ready, Ordering::Relaxed);
                tokio::time::sleep(POLL).await;
            }
        })
    };
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (routed, done, tally, base) = (
                Arc::clone(&routed),
                Arc::clone(&done),
                Arc::clone(&tally),
                base.clone(),
            );
            tokio::spawn(async move {
                // Keep-alive; a request unanswered after 5 s counts as lost.
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                while !done.load(Ordering::Relaxed) {
                    if !routed.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    tally.sent.fetch_add(1, Ordering::Relaxed);
                    match http.get(format!("{base}/flags")).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            tally.answered.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            tally.lost.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let handle = running.handle();
    handle.request_stop(); // what SIGTERM does
    let report = tokio::time::timeout(Duration::from_secs(20), running.wait())
        .await
        .expect("the stop is bounded");
    done.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    let _ = proxy.await;
    drop(running);
    assert!(report.is_ok(), "clean stop: {report:?}");
    (
        tally.sent.load(Ordering::Relaxed),
        tally.answered.load(Ordering::Relaxed),
        tally.lost.load(Ordering::Relaxed),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_behind_a_load_balancer_loses_no_request() {
    let (sent, answered, lost) = run(Duration::ZERO).await;
    eprintln!("drain_delay 0: {sent} sent, {answered} answered, {lost} lost");
    assert_eq!(sent, answered + lost);

    let (sent, answered, lost) = run(Duration::from_secs(1)).await;
    eprintln!("drain_delay 1 s: {sent} sent, {answered} answered, {lost} lost");
    assert!(answered > 0, "load was served");
    assert_eq!(lost, 0, "with the drain, no request is lost");
}
