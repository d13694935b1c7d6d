//! One test (at least) per guarantee of DESIGN.md, through hand-written services and a
//! `DynRegistry`, on current-thread runtimes with paused time, asserting on virtual time.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Probe, ProbeTask};
use lifecycle_core::testing::{Recorder, alive_tasks, assert_no_tasks_alive};
use lifecycle_core::{
    BuildError, DynRegistry, Escalation, Health, Phase, RegistryOptions, Restart, RunError,
    Service, ServiceOptions, State, TaskSpec,
};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

fn recorded() -> (Recorder, DynRegistry) {
    let recorder = Recorder::new();
    let registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default().seed(7)));
    (recorder, registry)
}

// Guarantee 1: one lifecycle, forward only, observable; never-started services stay New.
#[tokio::test(start_paused = true)]
async fn lifecycle_transitions_are_recorded_in_order() {
    let (recorder, mut registry) = recorded();
    registry.add_named("a", Arc::new(Probe::default()));
    let running = registry.build().unwrap().start().await.unwrap();
    assert_eq!(running.states(), vec![("a".to_owned(), State::Running)]);
    running.stop().await;
    assert_eq!(
        recorder.transitions_of("a"),
        [
            State::Starting,
            State::Running,
            State::Stopping,
            State::Stopped
        ]
    );
}

// Guarantee 1: stop is idempotent and every caller gets the same report.
#[tokio::test(start_paused = true)]
async fn concurrent_stops_share_one_report() {
    let probe = Probe {
        stop_delay: 50 * MS,
        ..Probe::default()
    };
    let stops = Arc::clone(&probe.stops);
    let mut registry = DynRegistry::new();
    registry.add_named("a", Arc::new(probe));
    let running = registry.build().unwrap().start().await.unwrap();
    let (h1, h2) = (running.handle(), running.handle());
    let (r1, r2, r3) = tokio::join!(h1.stop(), h2.stop(), running.stop());
    assert!(Arc::ptr_eq(&r1, &r2) && Arc::ptr_eq(&r2, &r3));
    assert_eq!(stops.load(Ordering::SeqCst), 1, "on_stop ran once");
}

// Guarantee 5: a task sleeping in a 30 s interval stops at once.
#[tokio::test(start_paused = true)]
async fn periodic_30s_task_stops_within_1ms_of_virtual_time() {
    let mut registry = DynRegistry::new();
    let probe = Probe::periodic(Duration::from_secs(30));
    let runs = Arc::clone(&probe.runs);
    registry.add_named("refresh", Arc::new(probe));
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3, "runs at 0 s, 30 s, 60 s");
    let began = Instant::now();
    let report = running.stop().await;
    assert!(
        began.elapsed() < MS,
        "stop took {:?} of virtual time",
        began.elapsed()
    );
    assert!(report.is_clean(), "{}", report.summary());
    assert_no_tasks_alive().await;
}

// Guarantee 5: a task that ignores cancellation is aborted at stop_timeout and named.
#[tokio::test(start_paused = true)]
async fn stuck_task_is_aborted_at_stop_timeout_and_named() {
    let mut registry = DynRegistry::new();
    let id = registry.add_named("stuck", Arc::new(Probe::with_task(ProbeTask::Stuck)));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(100 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::task::yield_now().await; // let the task begin its run
    let began = Instant::now();
    let report = running.stop().await;
    let took = began.elapsed();
    assert!(took >= 100 * MS && took <= 101 * MS, "stop took {took:?}");
    let service = report.service("stuck").unwrap();
    assert_eq!(service.tasks_aborted, ["stuck"]);
    assert!(service.tasks_still_running.is_empty());
    assert!(!report.is_clean());
    assert_no_tasks_alive().await;
}

// Guarantee 6: child tasks spawned through Shutdown are waited for, then aborted.
#[tokio::test(start_paused = true)]
async fn child_tasks_are_tracked_and_aborted() {
    let mut registry = DynRegistry::new();
    let id = registry.add_named("ws", Arc::new(Probe::with_task(ProbeTask::StuckChild)));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(200 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::task::yield_now().await;
    assert_eq!(alive_tasks(), 3, "control task, acceptor and its child");
    let began = Instant::now();
    let report = running.stop().await;
    assert_eq!(began.elapsed(), 200 * MS);
    let ws = report.service("ws").unwrap();
    assert_eq!(ws.children_aborted, 1);
    assert!(
        ws.tasks_aborted.is_empty(),
        "the acceptor itself returned: {:?}",
        ws.tasks_aborted
    );
    assert_no_tasks_alive().await;
}

// Guarantee 7: panics are contained and restarted with the backoff schedule; past the
// intensity limit the service is Failed and the registry shuts down.
#[tokio::test(start_paused = true)]
async fn panicking_task_restarts_with_backoff_then_escalates() {
    let (recorder, mut registry) = recorded();
    let spec = TaskSpec::new("listen")
        .restart(Restart::OnFailure)
        .backoff(100 * MS, 400 * MS)
        .jitter(0.0)
        .max_restarts(3, Duration::from_secs(60));
    let probe = Probe::with_task(ProbeTask::Panics(spec));
    let runs = Arc::clone(&probe.runs);
    registry.add_named("listener", Arc::new(probe));
    registry.add_named("bystander", Arc::new(Probe::default()));
    let began = Instant::now();
    let running = registry.build().unwrap().start().await.unwrap();
    let err = running.wait().await.unwrap_err();
    // Runs at 0, 100, 300, 700 ms; the 4th failure exceeds 3 restarts.
    assert_eq!(began.elapsed(), 700 * MS);
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    assert_eq!(recorder.task_failures("listener"), 4);
    match err {
        RunError::Escalated { error: e, .. } => {
            assert_eq!(e.service, "listener");
            assert_eq!(e.phase, Phase::Task);
            assert!(e.to_string().contains("boom"), "{e}");
        }
        other => panic!("expected escalation, got {other}"),
    }
    assert_eq!(
        recorder.transitions_of("listener").last(),
        Some(&State::Failed)
    );
    assert_eq!(
        recorder.transitions_of("bystander").last(),
        Some(&State::Stopped)
    );
    let report = running.stop().await;
    assert!(report.escalated.is_some());
    assert_no_tasks_alive().await;
}

// Guarantee 7, option: stop only the failed service and its dependents.
#[tokio::test(start_paused = true)]
async fn stop_dependents_escalation_keeps_the_rest_running() {
    let (recorder, mut registry) = recorded();
    let spec = TaskSpec::new("t").restart(Restart::Never);
    let failing = registry.add_named(
        "failing",
        Arc::new(Probe::with_task(ProbeTask::Fails(spec))),
    );
    registry
        .set_service_options(
            failing,
            ServiceOptions::DEFAULT.escalation(Escalation::StopDependents),
        )
        .unwrap();
    let dependent = registry.add_named("dependent", Arc::new(Probe::default()));
    registry.depends_on(dependent, failing).unwrap();
    let other = registry.add_named("other", Arc::new(Probe::default()));
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(10 * MS).await;
    assert_eq!(running.state(failing.index()), Some(State::Failed));
    assert_eq!(running.state(dependent.index()), Some(State::Stopped));
    assert_eq!(running.state(other.index()), Some(State::Running));
    assert_eq!(recorder.order_of(State::Stopping), ["dependent", "failing"]);
    let health = running.health().await;
    assert!(!health.live && !health.ready);
    running.stop().await;
    assert_no_tasks_alive().await;
}

// Guarantee 3: dependency order, independent services in parallel.
#[tokio::test(start_paused = true)]
async fn start_is_dependency_ordered_and_parallel() {
    let (recorder, mut registry) = recorded();
    let slow = |ms| {
        Arc::new(Probe {
            start_delay: ms * MS,
            ..Probe::default()
        })
    };
    let db = registry.add_named("db", slow(100));
    let cache = registry.add_named("cache", slow(100));
    let api = registry.add_named("api", slow(50));
    registry
        .depends_on(api, db)
        .unwrap()
        .depends_on(api, cache)
        .unwrap();
    let began = Instant::now();
    let running = registry.build().unwrap().start().await.unwrap();
    assert_eq!(
        began.elapsed(),
        150 * MS,
        "db and cache in parallel, then api"
    );
    assert_eq!(
        recorder.order_of(State::Running).last().map(String::as_str),
        Some("api")
    );
    let startup = running.startup_report();
    assert_eq!(startup.total, 150 * MS);
    assert_eq!(startup.critical_path.len(), 2);
    assert_eq!(startup.critical_path[1], "api");
    let report = running.stop().await;
    assert_eq!(report.stop_order()[0], "api");
}

// Guarantee 4: a failure mid-graph rolls back exactly the started services, in reverse
// order; in-flight starts are dropped without on_stop; never-started ones stay New.
#[tokio::test(start_paused = true)]
async fn start_failure_rolls_back_in_reverse_order() {
    let (recorder, mut registry) = recorded();
    let probe = |delay: u32, error| Probe {
        start_delay: delay * MS,
        start_error: error,
        ..Probe::default()
    };
    let db = registry.add_named("db", Arc::new(probe(10, None)));
    let cache = registry.add_named("cache", Arc::new(probe(20, None)));
    let flags = registry.add_named("flags", Arc::new(probe(30, Some("flags table missing"))));
    let slow = Probe {
        start_delay: Duration::from_secs(10),
        ..Probe::default()
    };
    let slow_stops = Arc::clone(&slow.stops);
    let in_flight = registry.add_named("slow", Arc::new(slow));
    let api = registry.add_named("api", Arc::new(probe(0, None)));
    registry.depends_on(cache, db).unwrap();
    registry.depends_on(flags, db).unwrap();
    registry.depends_on(in_flight, db).unwrap();
    registry
        .depends_on(api, flags)
        .unwrap()
        .depends_on(api, cache)
        .unwrap();

    let err = registry.build().unwrap().start().await.unwrap_err();
    assert_eq!(err.error.service, "flags");
    assert_eq!(err.error.phase, Phase::Start);
    assert!(err.to_string().contains("flags table missing"), "{err}");
    assert_eq!(recorder.order_of(State::Running), ["db", "cache"]);
    assert_eq!(recorder.order_of(State::Stopping), ["cache", "db"]);
    assert_eq!(
        recorder.transitions_of("slow"),
        [State::Starting, State::Stopped]
    );
    assert_eq!(
        slow_stops.load(Ordering::SeqCst),
        0,
        "dropped start gets no on_stop"
    );
    assert_eq!(
        recorder.transitions_of("flags"),
        [State::Starting, State::Failed]
    );
    assert!(
        recorder.transitions_of("api").is_empty(),
        "never started: stays New"
    );
    let rolled: Vec<_> = err.rollback.iter().map(|r| &*r.service).collect();
    assert_eq!(rolled, ["cache", "db"]);
    assert_no_tasks_alive().await;
}

// Guarantee 4: start timeouts and panics fail the start with the right phase.
#[tokio::test(start_paused = true)]
async fn start_timeout_and_panic_are_reported() {
    let mut registry = DynRegistry::new();
    let id = registry.add_named(
        "hangs",
        Arc::new(Probe {
            start_delay: Duration::from_secs(3600),
            ..Probe::default()
        }),
    );
    registry
        .set_service_options(
            id,
            ServiceOptions::DEFAULT.start_timeout(Duration::from_secs(2)),
        )
        .unwrap();
    let began = Instant::now();
    let err = registry.build().unwrap().start().await.unwrap_err();
    assert_eq!(began.elapsed(), Duration::from_secs(2));
    assert_eq!(err.error.phase, Phase::StartTimeout);

    let mut registry = DynRegistry::new();
    registry.add_named(
        "panics",
        Arc::new(Probe {
            start_panic: true,
            ..Probe::default()
        }),
    );
    let err = registry.build().unwrap().start().await.unwrap_err();
    assert_eq!(err.error.phase, Phase::StartPanic);
    assert!(
        err.error
            .source
            .to_string()
            .contains("probe start panicked")
    );
}

// Guarantee 5: the whole stop is bounded by shutdown_timeout, whatever the depth.
#[tokio::test(start_paused = true)]
async fn shutdown_timeout_bounds_a_deep_chain() {
    let mut registry = DynRegistry::with_options(
        RegistryOptions::default().shutdown_timeout(Duration::from_secs(1)),
    );
    let mut previous = None;
    for i in 0..10 {
        let id = registry.add_named(
            format!("s{i}"),
            Arc::new(Probe {
                stop_delay: Duration::from_secs(3),
                ..Probe::default()
            }),
        );
        if let Some(p) = previous {
            registry.depends_on(id, p).unwrap();
        }
        previous = Some(id);
    }
    let running = registry.build().unwrap().start().await.unwrap();
    let began = Instant::now();
    let report = running.stop().await;
    assert!(
        began.elapsed() <= Duration::from_secs(1),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(report.services.len(), 10);
    let skipped = report
        .services
        .iter()
        .filter(|s| s.errors.iter().any(|e| e.to_string().contains("skipped")))
        .count();
    assert!(
        skipped >= 9,
        "hooks past the deadline are skipped: {}",
        report.summary()
    );
}

// Guarantee 5: a failing stop hook is reported and the rest of the stop still runs.
#[tokio::test(start_paused = true)]
async fn stop_hook_errors_are_gathered() {
    let mut registry = DynRegistry::new();
    let db = registry.add_named("db", Arc::new(Probe::default()));
    let api = registry.add_named(
        "api",
        Arc::new(Probe {
            stop_error: Some("flush failed"),
            ..Probe::default()
        }),
    );
    registry.depends_on(api, db).unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    let report = running.stop().await;
    assert_eq!(report.stop_order(), ["api", "db"]);
    assert!(
        report.service("api").unwrap().errors[0]
            .to_string()
            .contains("flush failed")
    );
    assert!(report.service("db").unwrap().is_clean());
}

// Guarantee 6: blocking tasks that outlive the deadline are reported, not waited for.
// Real time: tokio does not auto-advance paused time while a blocking task runs.
#[tokio::test]
async fn blocking_task_past_deadline_is_reported() {
    let mut registry = DynRegistry::new();
    let id = registry.add_named(
        "cruncher",
        Arc::new(Probe::with_task(ProbeTask::BlockingStuck(
            Duration::from_millis(300),
        ))),
    );
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(10 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    let probe_runs = running.get(id).unwrap().runs.clone();
    while probe_runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let began = std::time::Instant::now();
    let report = running.stop().await;
    assert!(
        began.elapsed() < Duration::from_millis(200),
        "stop waited for the blocking task: {:?}",
        began.elapsed()
    );
    assert_eq!(
        report.service("cruncher").unwrap().blocking_still_running,
        ["crunch"]
    );
}

// Guarantee 8: dropping the guard cancels and aborts everything; no task survives.
#[tokio::test(start_paused = true)]
async fn dropping_the_guard_aborts_every_task() {
    let (recorder, mut registry) = recorded();
    let probe = Probe::with_task(ProbeTask::Stuck);
    let stops = Arc::clone(&probe.stops);
    registry.add_named("stuck", Arc::new(probe));
    registry.add_named("tick", Arc::new(Probe::periodic(Duration::from_secs(30))));
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::task::yield_now().await;
    assert!(alive_tasks() >= 3);
    drop(running);
    assert_no_tasks_alive().await;
    assert_eq!(stops.load(Ordering::SeqCst), 0, "hooks do not run on drop");
    assert_eq!(
        recorder.transitions_of("stuck").last(),
        Some(&State::Stopped)
    );
}

// Guarantee 8: the guard can be dropped from another thread, outside any runtime.
#[test]
fn guard_dropped_on_a_plain_thread_aborts_tasks() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = runtime.block_on(async {
        let mut registry = DynRegistry::new();
        registry.add_named("stuck", Arc::new(Probe::with_task(ProbeTask::Stuck)));
        registry.add_named("tick", Arc::new(Probe::periodic(Duration::from_millis(5))));
        registry.build().unwrap().start().await.unwrap()
    });
    std::thread::spawn(move || drop(running)).join().unwrap();
    let alive = runtime.block_on(async {
        for _ in 0..100 {
            if alive_tasks() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        alive_tasks()
    });
    assert_eq!(alive, 0);
}

// Guarantee 8: a start future dropped half-way leaves no task behind.
#[tokio::test(start_paused = true)]
async fn dropped_start_future_leaves_no_task() {
    let mut registry = DynRegistry::new();
    let tick = registry.add_named("tick", Arc::new(Probe::periodic(Duration::from_secs(1))));
    let slow = registry.add_named(
        "slow",
        Arc::new(Probe {
            start_delay: Duration::from_secs(10),
            ..Probe::default()
        }),
    );
    registry.depends_on(slow, tick).unwrap();
    let built = registry.build().unwrap();
    let start = built.start();
    assert!(
        tokio::time::timeout(Duration::from_secs(1), start)
            .await
            .is_err()
    );
    assert_no_tasks_alive().await;
}

// Guarantee 9: aggregated health with a hanging and a failing check.
struct Checked(Health, Duration);
impl Service for Checked {
    const NAME: &'static str = "Checked";
    async fn health(&self) -> Health {
        tokio::time::sleep(self.1).await;
        self.0.clone()
    }
}

#[tokio::test(start_paused = true)]
async fn health_checks_run_concurrently_with_a_timeout() {
    let mut registry = DynRegistry::with_options(
        RegistryOptions::default().health_timeout(Duration::from_secs(1)),
    );
    registry.add_named("ok", Arc::new(Checked(Health::Healthy, 900 * MS)));
    registry.add_named(
        "degraded",
        Arc::new(Checked(Health::degraded("slow disk"), 900 * MS)),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    let began = Instant::now();
    let report = running.health().await;
    assert_eq!(began.elapsed(), 900 * MS, "checks ran concurrently");
    assert!(report.ready && report.live);

    let mut registry = DynRegistry::with_options(
        RegistryOptions::default().health_timeout(Duration::from_secs(1)),
    );
    registry.add_named(
        "hangs",
        Arc::new(Checked(Health::Healthy, Duration::from_secs(3600))),
    );
    registry.add_named("sick", Arc::new(Checked(Health::unhealthy("db down"), MS)));
    let running2 = registry.build().unwrap().start().await.unwrap();
    let report = running2.health().await;
    assert!(!report.ready && report.live);
    assert!(matches!(&report.services[0].health, Health::Unhealthy(m) if m.contains("timed out")));
    running.stop().await;
    running2.stop().await;
}

// Guarantee 2 (run-time side): DynRegistry reports cycles and missing deps with names.
struct NeedsDb;
impl Service for NeedsDb {
    const NAME: &'static str = "NeedsDb";
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![lifecycle_core::Dependency::of::<Probe>()]
    }
}

#[test]
fn build_reports_cycles_missing_and_ambiguous_dependencies() {
    let mut registry = DynRegistry::new();
    let a = registry.add_named("a", Arc::new(Checked(Health::Healthy, MS)));
    let b = registry.add_named("b", Arc::new(Checked(Health::Healthy, MS)));
    let c = registry.add_named("c", Arc::new(Checked(Health::Healthy, MS)));
    registry
        .depends_on(a, b)
        .unwrap()
        .depends_on(b, c)
        .unwrap()
        .depends_on(c, a)
        .unwrap();
    match registry.build() {
        Err(BuildError::Cycle { path }) => assert_eq!(path, ["a", "b", "c", "a"]),
        other => panic!("expected a cycle, got {:?}", other.err()),
    }

    let mut registry = DynRegistry::new();
    registry.add(Arc::new(NeedsDb));
    let err = registry.build().err().unwrap();
    assert!(matches!(&err, BuildError::MissingDependency { service, .. } if service == "NeedsDb"));
    assert!(err.to_string().contains("Probe"), "{err}");

    let mut registry = DynRegistry::new();
    registry.add(Arc::new(NeedsDb));
    registry.add_named("p1", Arc::new(Probe::default()));
    registry.add_named("p2", Arc::new(Probe::default()));
    assert!(matches!(
        registry.build().err(),
        Some(BuildError::AmbiguousDependency { count: 2, .. })
    ));

    let mut other = DynRegistry::new();
    let foreign = other.add(Arc::new(NeedsDb));
    let mut registry = DynRegistry::new();
    let mine = registry.add(Arc::new(NeedsDb));
    assert!(matches!(
        registry.depends_on(mine, foreign),
        Err(BuildError::UnknownService { .. })
    ));
}

// Guarantee 9: the graph as DOT and Mermaid.
#[test]
fn graph_renders_as_dot_and_mermaid() {
    let mut registry = DynRegistry::new();
    let db = registry.add_named("db", Arc::new(Probe::default()));
    let api = registry.add_named("api \"v2\"", Arc::new(Probe::default()));
    registry.depends_on(api, db).unwrap();
    let built = registry.build().unwrap();
    assert_eq!(
        built.to_dot(),
        "digraph services {\n    rankdir=LR;\n    s0 [label=\"db\"];\n    s1 [label=\"api \\\"v2\\\"\"];\n    s1 -> s0;\n}\n"
    );
    assert_eq!(
        built.to_mermaid(),
        "flowchart LR\n    s0[\"db\"]\n    s1[\"api #quot;v2#quot;\"]\n    s1 --> s0\n"
    );
}

// Guarantee 1: stop during start cancels the start (and rolls back what started).
#[tokio::test(start_paused = true)]
async fn cancelling_start_rolls_back() {
    let (recorder, mut registry) = recorded();
    let db = registry.add_named("db", Arc::new(Probe::periodic(Duration::from_secs(30))));
    let slow = registry.add_named(
        "slow",
        Arc::new(Probe {
            start_delay: Duration::from_secs(60),
            ..Probe::default()
        }),
    );
    registry.depends_on(slow, db).unwrap();
    let cancel = lifecycle_core::CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        trigger.cancel();
    });
    let began = Instant::now();
    let err = registry
        .build()
        .unwrap()
        .start_until(&cancel)
        .await
        .unwrap_err();
    assert_eq!(began.elapsed(), Duration::from_secs(1));
    assert_eq!(err.error.phase, Phase::Cancelled);
    assert_eq!(
        recorder.transitions_of("slow"),
        [State::Starting, State::Stopped]
    );
    assert_eq!(recorder.transitions_of("db").last(), Some(&State::Stopped));
    assert_no_tasks_alive().await;
}

// Guarantee 7: a failed periodic run delays the next one by the backoff (doubling).
#[tokio::test(start_paused = true)]
async fn failed_periodic_runs_are_retried_after_the_backoff() {
    let (recorder, mut registry) = recorded();
    let spec = TaskSpec::periodic("refresh", Duration::from_secs(30))
        .backoff(Duration::from_secs(1), Duration::from_secs(60))
        .jitter(0.0);
    let probe = Probe::with_task(ProbeTask::Fails(spec));
    let runs = Arc::clone(&probe.runs);
    registry.add_named("refresh", Arc::new(probe));
    let running = registry.build().unwrap().start().await.unwrap();
    // Runs at 0 s, then 1 s, 3 s, 7 s (backoff 1, 2, 4 s), well before the 30 s period.
    tokio::time::sleep(Duration::from_millis(7500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 4);
    assert_eq!(recorder.task_failures("refresh"), 4);
    assert_eq!(
        running.state(0),
        Some(State::Running),
        "periodic failures do not fail the service"
    );
    running.stop().await;
    assert_no_tasks_alive().await;
}

// Guarantee 1: a handle taken before start can stop the registry: a stop during start
// cancels the start (in-flight hooks dropped, no on_stop for them), a stop before it
// prevents it.
#[tokio::test(start_paused = true)]
async fn stop_through_a_handle_cancels_a_start_in_progress() {
    let (recorder, mut registry) = recorded();
    let db = registry.add_named("db", Arc::new(Probe::periodic(Duration::from_secs(30))));
    let slow = Probe {
        start_delay: Duration::from_secs(60),
        ..Probe::default()
    };
    let slow_stops = Arc::clone(&slow.stops);
    let slow = registry.add_named("slow", Arc::new(slow));
    registry.depends_on(slow, db).unwrap();
    let built = registry.build().unwrap();
    let handle = built.handle();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        handle.stop().await
    });
    let began = Instant::now();
    let err = built.start().await.unwrap_err();
    assert_eq!(began.elapsed(), Duration::from_secs(1));
    assert_eq!(err.error.phase, Phase::Cancelled);
    let report = stopper.await.unwrap();
    assert_eq!(report.stop_order(), ["db"]);
    assert_eq!(
        slow_stops.load(Ordering::SeqCst),
        0,
        "dropped start gets no on_stop"
    );
    assert_eq!(
        recorder.transitions_of("slow"),
        [State::Starting, State::Stopped]
    );
    assert_no_tasks_alive().await;

    let mut registry = DynRegistry::new();
    registry.add_named("db", Arc::new(Probe::default()));
    let built = registry.build().unwrap();
    built.handle().stop().await;
    let err = built.start().await.unwrap_err();
    assert_eq!(err.error.phase, Phase::Cancelled);
}

// Guarantee 6: a periodic blocking task runs on the pool one run at a time while its schedule
// stays async, so paused time keeps advancing between runs and the stop is immediate.
#[tokio::test(start_paused = true)]
async fn periodic_blocking_task_works_with_paused_time() {
    struct Crunch(Arc<std::sync::atomic::AtomicU32>);
    impl Service for Crunch {
        const NAME: &'static str = "Crunch";
        fn spawn_tasks(self: &Arc<Self>, tasks: &mut lifecycle_core::TaskSpawner<'_>) {
            let runs = Arc::clone(&self.0);
            tasks.spawn_blocking(
                TaskSpec::periodic("crunch", Duration::from_secs(10)),
                move |_| {
                    runs.fetch_add(1, Ordering::SeqCst);
                },
            );
        }
    }
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Crunch(Arc::clone(&runs))));
    let running = registry.build().unwrap().start().await.unwrap();
    for _ in 0..4 {
        // Each run goes to the pool (real time); give it a moment, then advance virtual time.
        while alive_tasks() > 2 {
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(1));
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    assert!(
        runs.load(Ordering::SeqCst) >= 4,
        "{} runs",
        runs.load(Ordering::SeqCst)
    );
    let began = Instant::now();
    let report = running.stop().await;
    assert!(began.elapsed() < MS);
    assert!(report.is_clean(), "{}", report.summary());
}
