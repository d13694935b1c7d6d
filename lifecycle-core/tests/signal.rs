//! `run_until_signal`: SIGTERM stops gracefully; a second signal aborts; an escalation
//! returns an error naming the service. One test function: signals reach the whole process.
#![cfg(unix)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Probe, ProbeTask};
use lifecycle_core::{DynRegistry, Restart, RunError, ServiceOptions, TaskSpec};

fn send(signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_until_signal_handles_term_second_signal_and_escalation() {
    // 1. SIGTERM → graceful, bounded stop, Ok with a clean report.
    let mut registry = DynRegistry::new();
    registry.add_named("tick", Arc::new(Probe::periodic(Duration::from_secs(30))));
    let run = tokio::spawn(registry.build().unwrap().run_until_signal());
    tokio::time::sleep(Duration::from_millis(100)).await;
    send("-TERM");
    let report = tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(report.is_clean(), "{}", report.summary());

    // 2. A second signal during a slow stop aborts everything.
    let mut registry = DynRegistry::new();
    let id = registry.add_named("stuck", Arc::new(Probe::with_task(ProbeTask::Stuck)));
    registry
        .set_service_options(
            id,
            ServiceOptions::DEFAULT.stop_timeout(Duration::from_secs(20)),
        )
        .unwrap();
    let run = tokio::spawn(registry.build().unwrap().run_until_signal());
    tokio::time::sleep(Duration::from_millis(100)).await;
    send("-INT");
    tokio::time::sleep(Duration::from_millis(100)).await;
    send("-INT");
    let result = tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(result, Err(RunError::ForcedShutdown)),
        "{result:?}"
    );

    // 3. An escalation ends the run with an error naming the service.
    let mut registry = DynRegistry::new();
    let spec = TaskSpec::new("listen").restart(Restart::Never);
    registry.add_named(
        "listener",
        Arc::new(Probe::with_task(ProbeTask::Fails(spec))),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(2),
        registry.build().unwrap().run_until_signal(),
    )
    .await
    .unwrap();
    match result {
        Err(RunError::Escalated { error, report }) => {
            assert_eq!(error.service, "listener");
            assert_eq!(report.stop_order(), ["listener"]);
        }
        other => panic!("expected an escalation, got {other:?}"),
    }
}
