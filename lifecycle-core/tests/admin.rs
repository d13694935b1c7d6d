//! Administration along the graph (issue 10): restart, stop and start one service with its
//! dependents, the service-level restart policy, stops requested from inside with a reason,
//! reload, per-task status. All on virtual time, with closure-built services.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{
    AdminAction, AdminError, BoxError, DynRegistry, Escalation, Event, Phase, RegistryOptions,
    RunError, Service, ServiceId, ServiceOptions, ServiceRestart, Shutdown, State, StopReason,
    TaskSpawner, TaskSpec, find_source,
};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

type Hook = Arc<dyn Fn(Option<Shutdown>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
type TaskFn = Arc<dyn Fn(Shutdown) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// A service assembled from closures; hooks get `Shutdown::current()`.
#[derive(Default)]
struct Svc {
    start: Option<Hook>,
    stop: Option<Hook>,
    tasks: Vec<(TaskSpec, TaskFn)>,
}

impl Svc {
    fn new() -> Self {
        Self::default()
    }
    fn on_start<F>(mut self, f: impl Fn(Option<Shutdown>) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.start = Some(Arc::new(move |s| Box::pin(f(s))));
        self
    }
    fn on_stop<F>(mut self, f: impl Fn(Option<Shutdown>) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.stop = Some(Arc::new(move |s| Box::pin(f(s))));
        self
    }
    fn task<F>(mut self, spec: TaskSpec, f: impl Fn(Shutdown) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.tasks.push((spec, Arc::new(move |s| Box::pin(f(s)))));
        self
    }
}

impl Service for Svc {
    const NAME: &'static str = "Svc";
    const HAS_HEALTH_CHECK: bool = false;

    async fn on_start(&self) -> Result<(), BoxError> {
        match &self.start {
            Some(hook) => hook(Shutdown::current()).await,
            None => Ok(()),
        }
    }

    async fn on_stop(&self) -> Result<(), BoxError> {
        match &self.stop {
            Some(hook) => hook(Shutdown::current()).await,
            None => Ok(()),
        }
    }

    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        for (spec, f) in &self.tasks {
            let f = Arc::clone(f);
            tasks.spawn(spec.clone(), move |shutdown| f(shutdown));
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("batch done: {0} rows")]
struct BatchDone(u32);

// ------------------------------------------------------------ stop requested from inside

#[tokio::test(start_paused = true)]
async fn a_stop_requested_from_a_task_carries_its_reason_awaited_or_not() {
    for awaited in [false, true] {
        let mut registry = DynRegistry::new();
        registry.add_named(
            "import",
            Arc::new(
                Svc::new().task(TaskSpec::new("batch"), move |shutdown| async move {
                    tokio::time::sleep(20 * MS).await;
                    shutdown.request_stop_because(BatchDone(42));
                    if awaited {
                        // Waits for its own service's stop: the stop reaches it and it returns.
                        shutdown.cancelled().await;
                    }
                    Ok(())
                }),
            ),
        );
        let began = Instant::now();
        let running = registry.build().unwrap().start().await.unwrap();
        let report = running.run_until(std::future::pending()).await.unwrap();
        assert_eq!(began.elapsed(), 20 * MS, "awaited = {awaited}");
        let reason = report.reason.as_ref().expect("the reason is in the report");
        assert_eq!(reason.service.as_deref(), Some("import"));
        assert_eq!(find_source::<BatchDone>(reason).unwrap().0, 42);
        assert_no_tasks_alive().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_requested_from_on_start_cancels_the_start_with_its_reason() {
    for awaited in [false, true] {
        let mut registry = DynRegistry::new();
        registry.add_named("first", Arc::new(Svc::new()));
        let second = registry.add_named(
            "second",
            Arc::new(Svc::new().on_start(move |shutdown| async move {
                let shutdown = shutdown.expect("a hook has its service's Shutdown");
                shutdown.request_stop_because(BatchDone(0));
                if awaited {
                    // Dropped with the cancelled start-up: never hangs.
                    shutdown.draining().await;
                    std::future::pending::<()>().await;
                }
                Ok(())
            })),
        );
        let built = registry.build().unwrap();
        let handle = built.handle();
        let outcome = built.run_until(std::future::pending()).await;
        let Err(RunError::Start(error)) = outcome else {
            panic!("the start was cancelled, got {outcome:?}")
        };
        assert_eq!(error.error.phase, Phase::Cancelled);
        let reason = find_source::<StopReason>(&error).expect("the reason is the cause");
        assert_eq!(reason.service.as_deref(), Some("second"));
        assert!(find_source::<BatchDone>(&error).is_some());
        assert_eq!(handle.state(second.index()), Some(State::Stopped));
        let report = handle.stop().await;
        assert!(report.reason.is_some(), "the published report has it too");
        assert_no_tasks_alive().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_requested_from_on_stop_completes_and_the_first_reason_wins() {
    for awaited in [false, true] {
        let mut registry = DynRegistry::new();
        registry.add_named(
            "flusher",
            Arc::new(Svc::new().on_stop(move |shutdown| async move {
                let shutdown = shutdown.expect("a hook has its service's Shutdown");
                shutdown.request_stop_because("from on_stop");
                if awaited {
                    shutdown.draining().await; // already draining: returns at once
                }
                Ok(())
            })),
        );
        let running = registry.build().unwrap().start().await.unwrap();
        let handle = running.handle();
        let began = Instant::now();
        handle.request_stop_because("operator");
        let report = running.run_until(std::future::pending()).await.unwrap();
        assert_eq!(began.elapsed(), Duration::ZERO, "no deadlock, no wait");
        let reason = report.reason.as_ref().unwrap();
        assert_eq!(reason.service, None, "from the handle");
        assert_eq!(reason.reason.to_string(), "operator");

        // Without an earlier reason, on_stop's is kept.
        let mut registry = DynRegistry::new();
        registry.add_named(
            "flusher",
            Arc::new(Svc::new().on_stop(|shutdown| async move {
                shutdown.unwrap().request_stop_because("from on_stop");
                Ok(())
            })),
        );
        let running = registry.build().unwrap().start().await.unwrap();
        let report = running.stop().await;
        assert_eq!(
            report.reason.as_ref().unwrap().reason.to_string(),
            "from on_stop"
        );
        assert!(report.is_clean());
    }
    assert!(Shutdown::current().is_none(), "no hook runs here");
}

// ------------------------------------------------------------------ administration

/// A service whose `on_start` takes `start` and counts its runs, with one task that counts
/// incarnations and stops `stop` after cancellation.
fn counted(starts: &Arc<AtomicU32>, start: Duration, stop: Duration) -> Arc<Svc> {
    let runs = Arc::clone(starts);
    Arc::new(
        Svc::new()
            .on_start(move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(start).await;
                    Ok(())
                }
            })
            .task(TaskSpec::new("work"), move |shutdown| async move {
                shutdown.cancelled().await;
                tokio::time::sleep(stop).await;
                Ok(())
            }),
    )
}

struct Diamond {
    registry: DynRegistry,
    recorder: Recorder,
    starts: Vec<Arc<AtomicU32>>,
    ids: Vec<ServiceId<Svc>>,
}

const BASE: usize = 0;
const DB: usize = 1;
const A: usize = 2;
const B: usize = 3;
const TOP: usize = 4;
const OTHER: usize = 5;

/// base <- db <- {a, b} <- top, and `other` on its own. Start times: db 5 ms, a 10 ms,
/// b 20 ms; stop times (after cancel): a 10 ms, b 30 ms, db 5 ms.
fn diamond() -> Diamond {
    let recorder = Recorder::new();
    let mut registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default()));
    let specs = [
        ("base", 0, 0),
        ("db", 5, 5),
        ("a", 10, 10),
        ("b", 20, 30),
        ("top", 0, 0),
        ("other", 0, 0),
    ];
    let mut starts = Vec::new();
    let mut ids = Vec::new();
    for (name, start, stop) in specs {
        let count = Arc::new(AtomicU32::new(0));
        ids.push(registry.add_named(name, counted(&count, start * MS, stop * MS)));
        starts.push(count);
    }
    let _ = OTHER;
    for (dependent, dependency) in [(DB, BASE), (A, DB), (B, DB), (TOP, A), (TOP, B)] {
        registry
            .depends_on(ids[dependent], ids[dependency])
            .unwrap();
    }
    Diamond {
        registry,
        recorder,
        starts,
        ids,
    }
}

#[tokio::test(start_paused = true)]
async fn restart_follows_the_graph_down_and_back_up_and_nothing_else_moves() {
    let Diamond {
        registry,
        recorder,
        starts,
        ids,
    } = diamond();
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let began = Instant::now();
    let report = handle.restart(ids[DB]).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    // The same service objects ran `on_start` again (it must be re-runnable).
    let runs: Vec<u32> = starts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(runs, [1, 2, 2, 2, 2, 1]);
    // Down: top first, then a and b concurrently (a released first), then db.
    assert_eq!(report.stop_order(), ["top", "a", "b", "db"]);
    let stop = |name| {
        report
            .stopped
            .iter()
            .find(|s| s.service == name)
            .unwrap()
            .duration
    };
    assert_eq!(
        (stop("a"), stop("b"), stop("db")),
        (10 * MS, 30 * MS, 5 * MS)
    );
    // Up: db, then a and b concurrently (both began when db was Running), then top.
    assert_eq!(report.start_order(), ["db", "a", "b", "top"]);
    let start = |name| {
        let t = report.started.iter().find(|s| s.service == name).unwrap();
        (t.began_after, t.duration)
    };
    assert_eq!(start("db"), (Duration::ZERO, 5 * MS));
    assert_eq!(start("a"), (5 * MS, 10 * MS));
    assert_eq!(start("b"), (5 * MS, 20 * MS));
    assert_eq!(start("top"), (25 * MS, Duration::ZERO));
    assert_eq!(
        began.elapsed(),
        35 * MS + 25 * MS,
        "stop 35 ms, then start 25 ms"
    );
    assert_eq!(report.duration, began.elapsed());
    // Outside the set nothing changed state; inside, one more incarnation each.
    let once = [State::Starting, State::Running];
    let twice = [
        State::Starting,
        State::Running,
        State::Stopping,
        State::Stopped,
        State::Starting,
        State::Running,
    ];
    assert_eq!(recorder.transitions_of("base"), once);
    assert_eq!(recorder.transitions_of("other"), once);
    for name in ["db", "a", "b", "top"] {
        assert_eq!(recorder.transitions_of(name), twice, "{name}");
    }
    // The admin events frame the transitions.
    let events = recorder.events();
    let admin: Vec<_> = events
        .iter()
        .enumerate()
        .filter(|(_, (_, e))| matches!(e, Event::Admin { .. }))
        .collect();
    assert_eq!(admin.len(), 2);
    assert!(matches!(
        admin[0].1.1,
        Event::Admin {
            action: AdminAction::Restart,
            finished: false,
            ..
        }
    ));
    assert!(matches!(
        admin[1].1.1,
        Event::Admin {
            finished: true,
            ok: true,
            ..
        }
    ));
    let restarted_states = events[admin[0].0..admin[1].0]
        .iter()
        .filter(|(_, e)| matches!(e, Event::State { .. }))
        .count();
    assert_eq!(
        restarted_states, 16,
        "all 4 x 4 transitions inside the frame"
    );
    // The new incarnation runs: its tasks see a fresh, uncancelled token.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(
        report.service("b").unwrap().duration,
        30 * MS,
        "b's new task ran until cancelled"
    );
    assert_no_tasks_alive().await;
}

#[derive(Debug, thiserror::Error)]
#[error("cannot bind port {0}")]
struct BindFailed(u16);

#[tokio::test(start_paused = true)]
async fn a_restart_whose_on_start_fails_rolls_the_set_back_and_reports_it() {
    let Diamond {
        mut registry,
        recorder,
        ids,
        ..
    } = diamond();
    // `flaky` depends on db too and fails its second start (after 3 ms).
    let runs = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&runs);
    let flaky = registry.add_named(
        "flaky",
        Arc::new(Svc::new().on_start(move |_| {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(3 * MS).await;
                if run == 1 {
                    return Err(BindFailed(8080).into());
                }
                Ok(())
            }
        })),
    );
    registry.depends_on(flaky, ids[DB]).unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let outcome = handle.restart(ids[DB]).await;
    let Err(AdminError::Failed { error, report }) = outcome else {
        panic!("the restart failed, got {outcome:?}")
    };
    assert_eq!(error.service, "flaky");
    assert_eq!(error.phase, Phase::Start);
    assert_eq!(find_source::<BindFailed>(&*error).unwrap().0, 8080);
    assert!(report.error.is_some() && !report.is_clean());
    // db was Running when flaky failed (at +3 ms of db's start... db took 5 ms, flaky then 3):
    // a (10 ms) and b (20 ms) were still starting and were dropped; db is rolled back.
    assert_eq!(report.start_order(), ["db"]);
    assert_eq!(report.rolled_back.len(), 1);
    assert_eq!(report.rolled_back[0].service, "db");
    let state = |i: ServiceId<Svc>| handle.state(i.index()).unwrap();
    assert_eq!(handle.state(flaky.index()), Some(State::Failed));
    for i in [DB, A, B, TOP] {
        assert_eq!(
            state(ids[i]),
            State::Stopped,
            "{}",
            handle.service_name(ids[i].index()).unwrap()
        );
    }
    for i in [BASE, OTHER] {
        assert_eq!(state(ids[i]), State::Running);
    }
    assert_eq!(
        recorder.transitions_of("base"),
        [State::Starting, State::Running]
    );
    // Starting db again brings the whole set back (flaky's third start succeeds).
    let report = handle.start_service(ids[DB]).await.unwrap();
    let mut order = report.start_order();
    order.sort_unstable();
    assert_eq!(order, ["a", "b", "db", "flaky", "top"]);
    assert!(handle.states().iter().all(|(_, s)| *s == State::Running));
    assert!(running.stop().await.is_clean());
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn stop_service_stops_it_with_its_dependents_and_start_service_brings_them_back() {
    let Diamond {
        registry,
        starts,
        ids,
        ..
    } = diamond();
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let report = handle.stop_service(ids[A]).await.unwrap();
    assert_eq!(report.stop_order(), ["top", "a"]);
    assert!(report.started.is_empty());
    let running_now = |h: &lifecycle_core::RegistryHandle| {
        h.states()
            .into_iter()
            .filter(|(_, s)| *s == State::Running)
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(running_now(&handle), ["base", "db", "b", "other"]);
    // Already stopped: Ok, nothing to do.
    let again = handle.stop_service(ids[TOP]).await.unwrap();
    assert!(again.stopped.is_empty() && again.is_clean());
    // Stop db too (b goes with it), then start top: its stopped dependencies come first.
    let report = handle.stop_service(ids[DB]).await.unwrap();
    assert_eq!(report.stop_order(), ["b", "db"]);
    let began = Instant::now();
    let report = handle.start_service(ids[TOP]).await.unwrap();
    assert_eq!(report.start_order(), ["db", "a", "b", "top"]);
    assert_eq!(
        began.elapsed(),
        25 * MS,
        "db 5 ms, then a and b concurrently"
    );
    assert_eq!(running_now(&handle).len(), 6);
    let runs: Vec<u32> = starts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(runs, [1, 2, 2, 2, 2, 1]);
    // A dependent whose other dependency is down stays stopped, and says so.
    handle.stop_service(ids[B]).await.unwrap();
    handle.stop_service(ids[A]).await.unwrap();
    let report = handle.start_service(ids[A]).await.unwrap();
    assert_eq!(report.start_order(), ["a"]);
    assert_eq!(report.not_started, ["top"]);
    assert!(!report.is_clean());
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn overlapping_commands_queue_and_a_dropped_caller_cancels_nothing() {
    let Diamond {
        registry,
        recorder,
        starts,
        ids,
    } = diamond();
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    // A caller that gives up after 1 ms: the restart goes on.
    assert!(
        tokio::time::timeout(MS, handle.restart(ids[DB]))
            .await
            .is_err()
    );
    // Two overlapping restarts, sent together: the second waits for the first (and the
    // dropped one before both).
    let (first, second) = tokio::join!(handle.restart(ids[A]), handle.restart(ids[DB]));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.stop_order(), ["top", "a"]);
    assert_eq!(second.stop_order(), ["top", "a", "b", "db"]);
    let frames: Vec<(String, bool)> = recorder
        .events()
        .into_iter()
        .filter_map(|(name, e)| match e {
            Event::Admin { finished, .. } => Some((name, finished)),
            _ => None,
        })
        .collect();
    let expect = |n: &str, f| (n.to_owned(), f);
    assert_eq!(
        frames,
        [
            expect("db", false),
            expect("db", true),
            expect("a", false),
            expect("a", true),
            expect("db", false),
            expect("db", true),
        ],
        "never interleaved"
    );
    let runs: Vec<u32> = starts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(runs, [1, 3, 4, 3, 4, 1]);
    assert!(running.stop().await.is_clean());
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn a_registry_stop_during_a_restart_wins_and_nothing_restarts_afterwards() {
    for stop_at in [5 * MS, 40 * MS] {
        // At 5 ms the set is stopping; at 40 ms it is starting (a and b in on_start).
        let Diamond {
            registry,
            starts,
            ids,
            ..
        } = diamond();
        let running = registry.build().unwrap().start().await.unwrap();
        let handle = running.handle();
        let (db, a) = (ids[DB], ids[A]);
        let restart = tokio::spawn({
            let handle = handle.clone();
            async move { handle.restart(db).await }
        });
        let queued = tokio::spawn({
            let handle = handle.clone();
            async move {
                tokio::time::sleep(MS).await;
                handle.restart(a).await
            }
        });
        tokio::time::sleep(stop_at).await;
        let report = running.stop().await;
        let outcome = restart.await.unwrap();
        let Err(AdminError::Interrupted { report: admin }) = outcome else {
            panic!("the stop wins, got {outcome:?}")
        };
        assert!(admin.interrupted);
        assert!(matches!(queued.await.unwrap(), Err(AdminError::NotRunning)));
        assert!(handle.states().iter().all(|(_, s)| s.is_terminal()));
        let after = starts[TOP].load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            starts[TOP].load(Ordering::SeqCst),
            after,
            "nothing restarts afterwards"
        );
        assert_eq!(
            after, 1,
            "top never got to start again (stop at {stop_at:?})"
        );
        assert!(report.stop_order().contains(&"base"));
        assert!(matches!(
            handle.restart(ids[DB]).await,
            Err(AdminError::NotRunning)
        ));
        assert_no_tasks_alive().await;
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_and_foreign_ids_are_errors_and_a_stopped_service_restarts() {
    let Diamond { registry, ids, .. } = diamond();
    let mut other = DynRegistry::new();
    let foreign = other.add_named("x", Arc::new(Svc::new()));
    let built = registry.build().unwrap();
    let handle = built.handle();
    assert!(
        matches!(handle.restart(ids[DB]).await, Err(AdminError::NotRunning)),
        "before start-up"
    );
    let running = built.start().await.unwrap();
    assert!(matches!(
        handle.restart("nope").await,
        Err(AdminError::UnknownService(_))
    ));
    assert!(matches!(
        handle.stop_service(foreign).await,
        Err(AdminError::UnknownService(_))
    ));
    assert!(matches!(
        handle
            .start_service(lifecycle_core::ServiceRef::of::<Svc>())
            .await,
        Err(AdminError::UnknownService(_))
    ));
    // By name; a service already stopped is started again (with its stopped dependents).
    handle.stop_service("a").await.unwrap();
    let report = handle.restart("a").await.unwrap();
    assert!(report.stopped.is_empty());
    assert_eq!(report.start_order(), ["a", "top"]);
    assert!(running.stop().await.is_clean());
}

// ------------------------------------------------------------ service-level restart policy

/// A service whose one task runs 100 ms and then fails (never restarted by itself), and
/// whose `on_start` records when it ran.
fn failing_listener(starts: &Arc<std::sync::Mutex<Vec<Duration>>>, t0: Instant) -> Arc<Svc> {
    let at = Arc::clone(starts);
    Arc::new(
        Svc::new()
            .on_start(move |_| {
                at.lock().unwrap().push(t0.elapsed());
                async { Ok(()) }
            })
            .task(TaskSpec::new("listen"), |_| async {
                tokio::time::sleep(100 * MS).await;
                Err(BindFailed(9000).into())
            }),
    )
}

fn starts_of(
    registry: &mut DynRegistry,
    name: &'static str,
    t0: Instant,
) -> (Arc<std::sync::Mutex<Vec<Duration>>>, ServiceId<Svc>) {
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let at = Arc::clone(&starts);
    let id = registry.add_named(
        name,
        Arc::new(Svc::new().on_start(move |_| {
            at.lock().unwrap().push(t0.elapsed());
            async { Ok(()) }
        })),
    );
    (starts, id)
}

#[tokio::test(start_paused = true)]
async fn a_service_restart_policy_backs_off_then_escalates_past_its_limit() {
    let t0 = Instant::now();
    let secs = |s: f64| Duration::from_secs_f64(s);
    let mut registry = DynRegistry::new();
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = registry.add_named("listener", failing_listener(&starts, t0));
    registry
        .set_service_options(
            listener,
            ServiceOptions::DEFAULT.restart(
                ServiceRestart::DEFAULT
                    .max_restarts(3, Duration::from_secs(60))
                    .backoff(Duration::from_secs(1), Duration::from_secs(3)),
            ),
        )
        .unwrap();
    let (api_starts, api) = starts_of(&mut registry, "api", t0);
    registry.depends_on(api, listener).unwrap();
    let (other_starts, _) = starts_of(&mut registry, "other", t0);
    let outcome = registry
        .build()
        .unwrap()
        .run_until(std::future::pending())
        .await;
    // Failures at 0.1, 1.2, 3.3 s: restarts after 1, 2, then 3 s (capped); the fourth
    // failure, at 6.4 s, is past the limit of 3 within 60 s: the registry shuts down.
    let expected = [secs(0.0), secs(1.1), secs(3.2), secs(6.3)];
    assert_eq!(*starts.lock().unwrap(), expected);
    assert_eq!(
        *api_starts.lock().unwrap(),
        expected,
        "its dependent went with it"
    );
    assert_eq!(
        *other_starts.lock().unwrap(),
        [Duration::ZERO],
        "the rest ran on"
    );
    assert_eq!(t0.elapsed(), secs(6.4));
    let Err(RunError::Escalated { error, .. }) = outcome else {
        panic!("past the limit, the escalation applies: {outcome:?}")
    };
    assert_eq!(error.service, "listener");
    assert_eq!(find_source::<BindFailed>(&*error).unwrap().0, 9000);
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn past_the_limit_stop_dependents_applies_and_the_registry_runs_on() {
    let t0 = Instant::now();
    let recorder = Recorder::new();
    let mut registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default()));
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = registry.add_named("listener", failing_listener(&starts, t0));
    registry
        .set_service_options(
            listener,
            ServiceOptions::DEFAULT
                .escalation(Escalation::StopDependents)
                .restart(
                    ServiceRestart::DEFAULT
                        .max_restarts(1, Duration::from_secs(60))
                        .backoff(500 * MS, 500 * MS),
                ),
        )
        .unwrap();
    let (_, api) = starts_of(&mut registry, "api", t0);
    registry.depends_on(api, listener).unwrap();
    let (_, other) = starts_of(&mut registry, "other", t0);
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Failed at 0.1 s, restarted at 0.6 s, failed again at 0.7 s: stopped with its dependent.
    assert_eq!(
        *starts.lock().unwrap(),
        [Duration::ZERO, Duration::from_millis(600)]
    );
    assert_eq!(running.state(listener.index()), Some(State::Failed));
    assert_eq!(running.state(api.index()), Some(State::Stopped));
    assert_eq!(running.state(other.index()), Some(State::Running));
    let restarts: Vec<bool> = recorder
        .events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::Admin {
                finished: true,
                ok,
                action: AdminAction::Restart,
                ..
            } => Some(ok),
            _ => None,
        })
        .collect();
    assert_eq!(
        restarts,
        [true],
        "one automatic restart, then the escalation"
    );
    let report = running.stop().await;
    assert!(!report.is_clean(), "the failure is reported");
    assert_no_tasks_alive().await;
}

// ------------------------------------------------------------------------------- reload

/// A service whose `on_reload` takes `delay`, fails if `fail`, and counts its runs.
struct Reloadable {
    delay: Duration,
    fail: bool,
    reloads: AtomicU32,
}

impl Reloadable {
    fn new(delay: Duration, fail: bool) -> Arc<Self> {
        Arc::new(Self {
            delay,
            fail,
            reloads: AtomicU32::new(0),
        })
    }
}

impl Service for Reloadable {
    const NAME: &'static str = "Reloadable";
    const HAS_RELOAD_HOOK: bool = true;

    async fn on_reload(&self) -> Result<(), BoxError> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if self.fail {
            return Err(BindFailed(1).into());
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn reload_follows_dependency_order_concurrently_bounded_and_stops_nothing() {
    let recorder = Recorder::new();
    let mut registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default()));
    let cfg = registry.add_named("cfg", Reloadable::new(10 * MS, false));
    let db = registry.add_named("db", Reloadable::new(20 * MS, false));
    let cache_svc = Reloadable::new(5 * MS, true);
    let cache = registry.add_named("cache", Arc::clone(&cache_svc));
    let api = registry.add_named("api", Arc::new(Svc::new())); // no reload hook
    let web = registry.add_named("web", Reloadable::new(Duration::from_secs(3600), false));
    registry.depends_on(db, cfg).unwrap();
    registry.depends_on(api, db).unwrap();
    registry.depends_on(web, api).unwrap();
    registry
        .set_service_options(web, ServiceOptions::DEFAULT.hook_timeout(50 * MS))
        .unwrap();
    let built = registry.build().unwrap();
    assert!(matches!(
        built.handle().reload().await,
        Err(AdminError::NotRunning)
    ));
    let running = built.start().await.unwrap();
    let handle = running.handle();
    let began = Instant::now();
    let report = handle.reload().await.unwrap();
    assert_eq!(began.elapsed(), 80 * MS, "cfg 10 + db 20 + web cut at 50");
    assert_eq!(report.duration, 80 * MS);
    let at = |name| {
        let s = report.service(name).unwrap();
        (s.began_after, s.duration)
    };
    assert_eq!(at("cfg"), (Duration::ZERO, 10 * MS));
    assert_eq!(
        at("cache"),
        (Duration::ZERO, 5 * MS),
        "independent: concurrently"
    );
    assert_eq!(at("db"), (10 * MS, 20 * MS), "after its dependency");
    assert_eq!(
        at("web"),
        (30 * MS, 50 * MS),
        "api has no hook: passed through"
    );
    assert!(report.service("api").is_none());
    // Errors per service, with their values; nothing stopped.
    let errors: Vec<_> = report.errors().map(|e| e.service.as_str()).collect();
    assert_eq!(errors, ["cache", "web"]);
    let cache_error = &report.service("cache").unwrap().error.as_ref().unwrap();
    assert_eq!(cache_error.phase, Phase::Reload);
    assert!(find_source::<BindFailed>(&***cache_error).is_some());
    let web_error = report.service("web").unwrap().error.as_ref().unwrap();
    assert!(find_source::<lifecycle_core::TimedOut>(&**web_error).is_some());
    assert!(!report.is_clean());
    assert!(handle.states().iter().all(|(_, s)| *s == State::Running));
    assert!(
        recorder
            .events()
            .iter()
            .any(|(_, e)| *e == Event::Reloaded { failed: 2 })
    );
    // A stopped service is not reloaded; a restart and a reload never interleave.
    handle.stop_service(cache).await.unwrap();
    let (restart, reload) = tokio::join!(handle.restart(db), handle.reload());
    restart.unwrap();
    let reload = reload.unwrap();
    assert!(reload.service("cache").is_none());
    assert_eq!(cache_svc.reloads.load(Ordering::SeqCst), 1);
    let frames: Vec<&str> = recorder
        .events()
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Admin {
                finished: true,
                action: AdminAction::Restart,
                ..
            } => Some("restarted"),
            Event::Reloading => Some("reloading"),
            _ => None,
        })
        .collect();
    assert_eq!(frames, ["reloading", "restarted", "reloading"]);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert!(matches!(handle.reload().await, Err(AdminError::NotRunning)));
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn a_registry_stop_interrupts_a_reload_in_flight() {
    let mut registry = DynRegistry::new();
    let slow = Reloadable::new(Duration::from_secs(3600), false);
    registry.add_named("slow", Arc::clone(&slow));
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let reload = tokio::spawn({
        let handle = handle.clone();
        async move { handle.reload().await }
    });
    tokio::time::sleep(10 * MS).await;
    let began = Instant::now();
    let report = running.stop().await;
    assert_eq!(
        began.elapsed(),
        Duration::ZERO,
        "the stop does not wait for the reload"
    );
    assert!(report.is_clean());
    let reload = reload.await.unwrap().unwrap();
    assert!(reload.interrupted && !reload.is_clean());
    assert_eq!(slow.reloads.load(Ordering::SeqCst), 1);
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------------- per-task status

#[tokio::test(start_paused = true)]
async fn task_status_shows_backoff_restarts_errors_and_ends_and_readiness_follows() {
    use lifecycle_core::task::TaskState;
    let t0 = Instant::now();
    let failing = |name: &'static str| {
        Arc::new(
            Svc::new().task(
                TaskSpec::new(name)
                    .restart(lifecycle_core::Restart::OnFailure)
                    .backoff(Duration::from_secs(1), Duration::from_secs(8))
                    .jitter(0.0),
                |_| async {
                    tokio::time::sleep(10 * MS).await;
                    Err(BindFailed(7).into())
                },
            ),
        )
    };
    let mut registry = DynRegistry::new();
    let listener = registry.add_named("listener", failing("listen"));
    let tolerant = registry.add_named("tolerant", failing("listen"));
    registry
        .set_service_options(tolerant, ServiceOptions::DEFAULT.ready_in_backoff(true))
        .unwrap();
    registry.add_named(
        "batch",
        Arc::new(Svc::new().task(TaskSpec::new("import"), |_| async { Ok(()) })),
    );
    let fatal = registry.add_named(
        "fatal",
        Arc::new(Svc::new().task(TaskSpec::new("once"), |_| async {
            tokio::time::sleep(20 * MS).await;
            Err(BindFailed(8).into())
        })),
    );
    registry
        .set_service_options(
            fatal,
            ServiceOptions::DEFAULT.escalation(Escalation::StopDependents),
        )
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    tokio::time::sleep(5 * MS).await;
    let listen = |h: &lifecycle_core::RegistryHandle| h.tasks(listener).unwrap().remove(0);
    let now = listen(&handle);
    assert_eq!(
        (now.name, now.state, now.restarts),
        ("listen", TaskState::Running, 0)
    );
    assert!(now.last_error.is_none());
    assert!(handle.health().await.ready);

    tokio::time::sleep(Duration::from_millis(495)).await; // t = 500 ms
    let now = listen(&handle);
    assert_eq!(
        now.state,
        TaskState::Backoff {
            until: t0 + Duration::from_millis(1010)
        }
    );
    assert_eq!(now.restarts, 1);
    let error = now.last_error.as_ref().unwrap();
    assert_eq!(
        error.downcast_ref::<BindFailed>().unwrap().0,
        7,
        "the task's own value"
    );
    assert_eq!(handle.tasks("batch").unwrap()[0].state, TaskState::Finished);
    let fatal_task = handle.tasks("fatal").unwrap().remove(0);
    assert_eq!(fatal_task.state, TaskState::Failed);
    assert!(find_source::<BindFailed>(&**fatal_task.last_error.as_ref().unwrap()).is_some());
    // Readiness: the listener's only task is stuck in backoff; `tolerant` opted out.
    let health = handle.health().await;
    assert!(!health.ready && !health.live, "fatal is Failed");
    let of = |name: &str| health.services.iter().find(|s| s.name == name).unwrap();
    assert!(!of("listener").health.is_healthy());
    assert_eq!(of("listener").tasks, std::slice::from_ref(&now));
    assert!(of("tolerant").health.is_healthy());
    assert!(
        of("batch").health.is_healthy(),
        "finished tasks are not stuck"
    );

    tokio::time::sleep(Duration::from_millis(515)).await; // t = 1015 ms: in its second run (from 1010 ms)
    let now = listen(&handle);
    assert_eq!((now.state, now.restarts), (TaskState::Running, 1));
    assert!(handle.health().await.services[0].health.is_healthy());
    tokio::time::sleep(Duration::from_millis(100)).await; // failed again: 2 s backoff
    let now = listen(&handle);
    assert_eq!(now.restarts, 2);
    assert_eq!(
        now.state,
        TaskState::Backoff {
            until: t0 + Duration::from_millis(3020)
        }
    );
    // A restart is a new incarnation: fresh counts.
    handle.restart(listener).await.unwrap();
    let now = listen(&handle);
    assert_eq!((now.state, now.restarts), (TaskState::Running, 0));
    assert!(now.last_error.is_none());
    assert!(matches!(
        handle.tasks("nope"),
        Err(AdminError::UnknownService(_))
    ));
    let report = running.stop().await;
    // Its run ignores cancellation and fails 10 ms later: a failure during the stop.
    let now = listen(&handle);
    assert_eq!(now.state, TaskState::Failed);
    let error = report.service("listener").unwrap().errors[0].clone();
    assert_eq!(error.phase, Phase::Stop);
    let error: Arc<dyn std::error::Error + Send + Sync> = error;
    assert!(Arc::ptr_eq(now.last_error.as_ref().unwrap(), &error));
    assert_eq!(handle.tasks("batch").unwrap()[0].state, TaskState::Finished);
    assert_no_tasks_alive().await;
}

// ------------------------------------------------------------- restart on random DAGs

/// Services 0..n, each depending on up to 3 lower indices, with start and stop times (ms);
/// and which one to restart.
fn restart_dag() -> impl proptest::strategy::Strategy<Value = (Vec<(Vec<usize>, u64, u64)>, usize)>
{
    use proptest::prelude::*;
    (1usize..=20).prop_flat_map(|n| {
        let services = (0..n)
            .map(|i| {
                (
                    proptest::collection::vec(0..i.max(1), 0..=i.min(3)),
                    0u64..10,
                    0u64..10,
                )
            })
            .collect::<Vec<_>>();
        (services, 0..n)
    })
}

fn check_restart(spec: Vec<(Vec<usize>, u64, u64)>, target: usize) {
    let runtime = common::paused_runtime();
    let n = spec.len();
    let deps = common::acyclic_deps(&spec);
    // The transitive dependents of `target`, computed here independently of the engine.
    let mut in_set = vec![false; n];
    in_set[target] = true;
    for i in 0..n {
        if deps[i].iter().any(|&d| in_set[d]) {
            in_set[i] = true;
        }
    }
    // Expected durations: a member stops once its member dependents stopped; starts once its
    // member dependencies started (the rest is Running throughout).
    let mut stop_done = vec![0u64; n];
    for i in (0..n).rev().filter(|&i| in_set[i]) {
        let after = (i + 1..n)
            .filter(|&j| in_set[j] && deps[j].contains(&i))
            .map(|j| stop_done[j])
            .max()
            .unwrap_or(0);
        stop_done[i] = after + spec[i].2;
    }
    let mut start_done = vec![0u64; n];
    for i in (0..n).filter(|&i| in_set[i]) {
        let after = deps[i]
            .iter()
            .filter(|&&d| in_set[d])
            .map(|&d| start_done[d])
            .max()
            .unwrap_or(0);
        start_done[i] = after + spec[i].1;
    }
    let expected = stop_done.iter().max().unwrap() + start_done.iter().max().unwrap();
    let name = |i: usize| format!("s{i}");
    runtime.block_on(async {
        let recorder = Recorder::new();
        let mut registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default()));
        let mut starts = Vec::new();
        let mut ids = Vec::new();
        for (i, (_, start, stop)) in spec.iter().enumerate() {
            let count = Arc::new(AtomicU32::new(0));
            ids.push(registry.add_named(
                name(i),
                counted(
                    &count,
                    Duration::from_millis(*start),
                    Duration::from_millis(*stop),
                ),
            ));
            starts.push(count);
        }
        for (i, d) in deps.iter().enumerate() {
            for &d in d {
                registry.depends_on(ids[i], ids[d]).unwrap();
            }
        }
        let running = registry.build().unwrap().start().await.unwrap();
        let report = running.handle().restart(ids[target]).await.unwrap();
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(
            report.duration,
            Duration::from_millis(expected),
            "stops then starts, concurrent where independent"
        );
        let pos = |order: &[&str], i: usize| order.iter().position(|s| *s == name(i));
        let (down, up) = (report.stop_order(), report.start_order());
        for i in 0..n {
            assert_eq!(
                pos(&down, i).is_some(),
                in_set[i],
                "s{i} stopped iff a dependent"
            );
            assert_eq!(
                pos(&up, i).is_some(),
                in_set[i],
                "s{i} started iff a dependent"
            );
            let runs = starts[i].load(Ordering::SeqCst);
            let expect = if in_set[i] { 2 } else { 1 };
            assert_eq!(runs, expect, "s{i}'s on_start runs");
            let transitions = recorder.transitions_of(&name(i));
            if in_set[i] {
                assert_eq!(transitions.len(), 6, "s{i}: {transitions:?}");
                for &d in &deps[i] {
                    if in_set[d] {
                        assert!(
                            pos(&down, i) < pos(&down, d),
                            "s{i} stops before its dependency s{d}"
                        );
                        assert!(
                            pos(&up, d) < pos(&up, i),
                            "s{d} starts before its dependent s{i}"
                        );
                    }
                }
            } else {
                assert_eq!(
                    transitions,
                    [State::Starting, State::Running],
                    "s{i} never moved"
                );
            }
        }
        assert!(
            running
                .handle()
                .states()
                .iter()
                .all(|(_, s)| *s == State::Running)
        );
        let report = running.stop().await;
        assert!(report.is_clean(), "{}", report.summary());
        assert_no_tasks_alive().await;
    });
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..Default::default() })]
    #[test]
    fn restart_on_random_dags_moves_exactly_the_dependents((spec, target) in restart_dag()) {
        check_restart(spec, target);
    }
}

#[tokio::test(start_paused = true)]
async fn a_restart_does_not_make_a_stop_when_idle_registry_idle() {
    let mut registry = DynRegistry::with_options(RegistryOptions::default().stop_when_idle(true));
    let worker = registry.add_named(
        "worker",
        Arc::new(
            Svc::new().task(TaskSpec::new("serve"), |shutdown| async move {
                shutdown.cancelled().await;
                Ok(())
            }),
        ),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    // Its only task ends while the service restarts: the registry is not idle.
    handle.restart(worker).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!handle.is_stopping());
    // Stopped by hand, nothing runs any more: now it is idle, and stops by itself.
    handle.stop_service(worker).await.unwrap();
    let report = running.wait().await.unwrap();
    assert!(report.is_clean());
    assert_no_tasks_alive().await;
}
