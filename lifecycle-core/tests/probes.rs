//! `/livez`, `/readyz`, `/startupz` through the router, without a network
//! (`tower::ServiceExt::oneshot`), on virtual time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use lifecycle_core::ops::probes::{Probe, ProbeBody, router};
use lifecycle_core::{
    BoxError, DynRegistry, Health, RegistryHandle, Service, TaskSpawner, TaskSpec,
};
use tower::ServiceExt;

/// Starts in 1 s; its health is what the flag says.
struct Db {
    healthy: AtomicBool,
}

impl Service for Db {
    const NAME: &'static str = "Db";
    const HAS_HEALTH_CHECK: bool = true;
    async fn on_start(&self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(())
    }
    async fn health(&self) -> Health {
        if self.healthy.load(Ordering::Relaxed) {
            Health::Healthy
        } else {
            Health::unhealthy("connection refused")
        }
    }
}

/// A task that fails at once, with no restart: the service ends Failed, nothing escalates.
struct Fragile;

impl Service for Fragile {
    const NAME: &'static str = "Fragile";
    const HAS_START_HOOK: bool = false;
    const HAS_STOP_HOOK: bool = false;
    const OPTIONS: lifecycle_core::ServiceOptions = lifecycle_core::ServiceOptions::DEFAULT
        .escalation(lifecycle_core::Escalation::StopDependents);
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        tasks.spawn(TaskSpec::new("crash"), |_| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Err::<(), _>(std::io::Error::other("boom"))
        });
    }
}

async fn get(handle: &RegistryHandle, probe: Probe) -> (StatusCode, ProbeBody) {
    let response = router(handle.clone())
        .oneshot(
            Request::get(probe.path())
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body: ProbeBody = serde_json::from_slice(&bytes).expect("a JSON ProbeBody");
    assert_eq!(body.probe, probe);
    assert_eq!(body.status(), status, "status agrees with the body");
    (status, body)
}

#[tokio::test(start_paused = true)]
async fn probes_follow_the_lifecycle() {
    let db = Arc::new(Db {
        healthy: AtomicBool::new(true),
    });
    let mut registry = DynRegistry::new();
    registry.add(Arc::clone(&db));
    let built = registry.build().unwrap();
    let handle = built.handle();

    // Before start-up: alive, not started, not ready.
    let (status, body) = get(&handle, Probe::Startup).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body.services[0].state, "New");
    assert!(body.reason.as_deref().unwrap().contains("Db"));
    assert_eq!(
        get(&handle, Probe::Readiness).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&handle, Probe::Liveness).await.0, StatusCode::OK);

    // During start-up (Db's on_start takes 1 s).
    let start = tokio::spawn(built.start());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = get(&handle, Probe::Startup).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body.services[0].state, "Starting");
    let running = start.await.unwrap().unwrap();

    // Started, ready, alive.
    assert_eq!(get(&handle, Probe::Startup).await.0, StatusCode::OK);
    let (status, body) = get(&handle, Probe::Readiness).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(body.services[0].health.as_deref(), Some("healthy"));
    assert_eq!(body.reason, None);
    assert!(!body.draining);

    // Unhealthy: not ready (with the check's reason), still alive.
    db.healthy.store(false, Ordering::Relaxed);
    let (status, body) = get(&handle, Probe::Readiness).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body.services[0].health.as_deref(), Some("unhealthy"));
    assert_eq!(
        body.services[0].reason.as_deref(),
        Some("connection refused")
    );
    assert_eq!(get(&handle, Probe::Liveness).await.0, StatusCode::OK);
    db.healthy.store(true, Ordering::Relaxed);

    // Stopped: not ready, and reported draining.
    running.stop().await;
    let (status, body) = get(&handle, Probe::Readiness).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.draining);
    assert_eq!(get(&handle, Probe::Liveness).await.0, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_failed_service_fails_liveness_and_names_itself() {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Db {
        healthy: AtomicBool::new(true),
    }));
    registry.add(Arc::new(Fragile));
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    assert_eq!(get(&handle, Probe::Liveness).await.0, StatusCode::OK);

    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, body) = get(&handle, Probe::Liveness).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body:?}");
    let fragile = body.services.iter().find(|s| s.name == "Fragile").unwrap();
    assert_eq!(fragile.state, "Failed");
    assert!(!fragile.ok);
    assert!(body.services.iter().find(|s| s.name == "Db").unwrap().ok);
    assert_eq!(body.reason.as_deref(), Some("failed: Fragile"));
    assert_eq!(
        get(&handle, Probe::Readiness).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_empty_registry_is_ready() {
    let running = DynRegistry::new().build().unwrap().start().await.unwrap();
    for probe in [Probe::Startup, Probe::Readiness, Probe::Liveness] {
        assert_eq!(get(&running.handle(), probe).await.0, StatusCode::OK);
    }
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn readiness_turns_off_at_once_when_a_drain_begins() {
    let mut registry = DynRegistry::with_options(
        lifecycle_core::RegistryOptions::default().drain_delay(Duration::from_secs(5)),
    );
    registry.add(Arc::new(Db {
        healthy: AtomicBool::new(true),
    }));
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    assert_eq!(get(&handle, Probe::Readiness).await.0, StatusCode::OK);

    let began = tokio::time::Instant::now();
    handle.request_stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Draining: services still Running and serving, but the pod must leave the endpoints.
    let (status, body) = get(&handle, Probe::Readiness).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.draining);
    assert_eq!(body.services[0].state, "Running");
    assert_eq!(body.reason.as_deref(), Some("a stop was requested"));
    assert_eq!(get(&handle, Probe::Liveness).await.0, StatusCode::OK);

    handle.wait().await.unwrap();
    assert!(
        began.elapsed() >= Duration::from_secs(5),
        "the ordered stop waited for the drain"
    );
}

/// Fails every run; restarted after 10 s, forever.
struct Flaky;

impl Service for Flaky {
    const NAME: &'static str = "Flaky";
    const HAS_START_HOOK: bool = false;
    const HAS_STOP_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        tasks.spawn(
            TaskSpec::new("poll")
                .restart(lifecycle_core::Restart::OnFailure)
                .backoff(Duration::from_secs(10), Duration::from_secs(10))
                .jitter(0.0),
            |_| async { Err::<(), _>(std::io::Error::other("upstream down")) },
        );
    }
}

#[tokio::test(start_paused = true)]
async fn probe_bodies_list_each_task_with_its_state_restarts_and_last_error() {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Flaky));
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, body) = get(&running.handle(), Probe::Readiness).await;
    // Its only task waits in backoff: not ready (so a load balancer stops routing to it).
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let task = &body.services[0].tasks[0];
    assert_eq!(task.name, "poll");
    assert_eq!(task.state, "backoff");
    assert_eq!(task.next_run_in_ms, Some(6_000));
    assert_eq!(task.restarts, 1);
    assert_eq!(task.last_error.as_deref(), Some("upstream down"));
    // Liveness lists the tasks too (and passes: nothing is Failed).
    let (status, body) = get(&running.handle(), Probe::Liveness).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.services[0].tasks[0].state, "backoff");
    running.stop().await;
}
