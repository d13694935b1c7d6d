//! The registry as a supervisor (issue 9): every transition after start runs in one control
//! task; stop survives its caller; stops are per service and concurrent; errors keep their
//! chain; failures during shutdown are reported; `Duration::MAX` is "unbounded"; names.
//! All on virtual time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{
    BoxError, BuildError, CancellationToken, DynRegistry, Escalation, Event, Panicked, Phase,
    RegistryHandle, RegistryOptions, Restart, RunError, Service, ServiceOptions, Shutdown, State,
    TaskError, TaskSpawner, TaskSpec, find_source,
};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

type Hook = Arc<dyn Fn(Option<Shutdown>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
type TaskFn = Arc<dyn Fn(Shutdown) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// A service assembled from closures. `HOOKS = false` has no start/stop hook at all.
#[derive(Default)]
struct Svc<const HOOKS: bool = true> {
    start: Option<Hook>,
    stop: Option<Hook>,
    tasks: Vec<(TaskSpec, TaskFn)>,
    /// The service's `Shutdown`, kept for hooks that spawn children or request a stop.
    shutdown: OnceLock<Shutdown>,
}

impl<const HOOKS: bool> Svc<HOOKS> {
    fn new() -> Self {
        Self {
            start: None,
            stop: None,
            tasks: Vec::new(),
            shutdown: OnceLock::new(),
        }
    }
    fn on_start<F>(mut self, f: impl Fn() -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.start = Some(Arc::new(move |_| Box::pin(f())));
        self
    }
    fn on_stop<F>(mut self, f: impl Fn() -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.stop = Some(Arc::new(move |_| Box::pin(f())));
        self
    }
    /// An `on_stop` given the service's `Shutdown` (to spawn children from the hook).
    fn on_stop_with<F>(mut self, f: impl Fn(Shutdown) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.stop = Some(Arc::new(move |shutdown| {
            let shutdown = shutdown.expect("tasks were spawned before on_stop");
            Box::pin(f(shutdown))
        }));
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

impl<const HOOKS: bool> Service for Svc<HOOKS> {
    const NAME: &'static str = "Svc";
    const HAS_START_HOOK: bool = HOOKS;
    const HAS_STOP_HOOK: bool = HOOKS;
    const HAS_HEALTH_CHECK: bool = false;

    async fn on_start(&self) -> Result<(), BoxError> {
        match &self.start {
            Some(hook) => hook(None).await,
            None => Ok(()),
        }
    }

    async fn on_stop(&self) -> Result<(), BoxError> {
        match &self.stop {
            Some(hook) => hook(self.shutdown.get().cloned()).await,
            None => Ok(()),
        }
    }

    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let _ = self.shutdown.set(tasks.shutdown());
        for (spec, f) in &self.tasks {
            let f = Arc::clone(f);
            tasks.spawn(spec.clone(), move |shutdown| f(shutdown));
        }
    }
}

/// Waits for cancellation, then takes `after` more before returning.
fn slow_to_stop(after: Duration) -> impl Fn(Shutdown) -> BoxFuture<'static, Result<(), BoxError>> {
    move |shutdown| {
        Box::pin(async move {
            shutdown.cancelled().await;
            tokio::time::sleep(after).await;
            Ok(())
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("disk full on {0}")]
struct DiskFull(&'static str);

// ------------------------------------------------------------------ stop survives its caller

#[tokio::test(start_paused = true)]
async fn a_caller_dropped_mid_stop_does_not_repeat_the_stop_hook() {
    let stops = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&stops);
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Svc::<true>::new().on_stop(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(100 * MS).await;
            Ok(())
        }
    })));
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    // The first caller gives up after 1 ms: its future is dropped mid-hook.
    assert!(
        tokio::time::timeout(MS, handle.stop()).await.is_err(),
        "the hook takes 100 ms"
    );
    let began = Instant::now();
    let report = running.stop().await;
    assert_eq!(stops.load(Ordering::SeqCst), 1, "on_stop ran exactly once");
    assert_eq!(
        began.elapsed(),
        99 * MS,
        "the second caller joined the same stop"
    );
    assert!(report.is_clean(), "{}", report.summary());
    assert!(
        Arc::ptr_eq(&report, &handle.stop().await),
        "one shared report"
    );
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn a_task_awaiting_its_own_registrys_stop_completes_it() {
    let handle: Arc<OnceLock<RegistryHandle>> = Arc::default();
    let in_task = Arc::clone(&handle);
    let mut registry = DynRegistry::new();
    let id = registry.add(Arc::new(Svc::<true>::new().task(
        TaskSpec::new("quitter"),
        move |_| {
            let handle = Arc::clone(&in_task);
            async move {
                tokio::time::sleep(10 * MS).await;
                // Awaits the very stop that will cut this task at its stop_timeout.
                handle.get().expect("set before").stop().await;
                Ok(())
            }
        },
    )));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(50 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    handle.set(running.handle()).unwrap();
    let began = Instant::now();
    let outcome = running.wait().await;
    assert_eq!(
        began.elapsed(),
        60 * MS,
        "requested at 10 ms, task cut at +50 ms"
    );
    let Err(RunError::Unclean(report)) = outcome else {
        panic!("the awaiting task was aborted: not clean, got {outcome:?}")
    };
    assert_eq!(report.services[0].tasks_aborted, ["quitter"]);
    assert_eq!(running.state(id.index()), Some(State::Stopped));
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn request_stop_from_a_task_a_start_hook_and_a_stop_hook_never_deadlocks() {
    // From a task: clean, at once.
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Svc::<true>::new().task(
        TaskSpec::new("batch"),
        |shutdown| async move {
            tokio::time::sleep(20 * MS).await;
            shutdown.request_stop();
            shutdown.cancelled().await;
            Ok(())
        },
    )));
    let began = Instant::now();
    let running = registry.build().unwrap().start().await.unwrap();
    let report = running.run_until(std::future::pending()).await.unwrap();
    assert_eq!(began.elapsed(), 20 * MS);
    assert!(report.is_clean());

    // From on_stop, awaited: completes, cut at the hook's timeout.
    let handle: Arc<OnceLock<RegistryHandle>> = Arc::default();
    let in_hook = Arc::clone(&handle);
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Svc::<true>::new().on_stop(move || {
        let h = Arc::clone(&in_hook);
        async move {
            h.get().expect("set").stop().await;
            Ok(())
        }
    })));
    let built = registry.build().unwrap();
    handle.set(built.handle()).unwrap();
    let running = built.start().await.unwrap();
    let began = Instant::now();
    let report = running.stop().await;
    // The hook awaiting its own registry's stop is cut at its hook_timeout (5 s).
    assert_eq!(began.elapsed(), Duration::from_secs(5));
    let error = &report.services[0].errors[0];
    assert_eq!(error.phase, Phase::Stop);
    assert!(find_source::<lifecycle_core::TimedOut>(&**error).is_some());
    assert!(handle.get().unwrap().wait().await.is_err());

    // From on_start, awaited: the start is cancelled and rolled back; nothing hangs.
    let handle: Arc<OnceLock<RegistryHandle>> = Arc::default();
    let in_hook = Arc::clone(&handle);
    let mut registry = DynRegistry::new();
    registry.add_named("first", Arc::new(Svc::<true>::new()));
    let second = registry.add_named(
        "second",
        Arc::new(Svc::<true>::new().on_start(move || {
            let h = Arc::clone(&in_hook);
            async move {
                h.get().expect("set").stop().await;
                Ok(())
            }
        })),
    );
    let built = registry.build().unwrap();
    handle.set(built.handle()).unwrap();
    let error = built.start().await.unwrap_err();
    assert_eq!(error.error.phase, Phase::Cancelled);
    let handle = handle.get().unwrap();
    assert_eq!(handle.state(second.index()), Some(State::Stopped));
    assert!(handle.stop().await.services.iter().all(|r| r.is_clean()));
    assert_no_tasks_alive().await;
}

// ------------------------------------------------------------ per-service concurrent stops

// Hook-less services on two workers: each one's last task hands its stop to the control task
// while the control task is arming others. A lost hand-over would show as a stop that waits
// for the 30 s `stop_timeout` (its deadline then takes the stop); none may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hookless_stops_on_two_workers_are_handed_over_without_waiting_for_deadlines() {
    for round in 0..20 {
        let mut registry = DynRegistry::new();
        for i in 0..200 {
            let id = registry.add_named(
                format!("s{i}"),
                Arc::new(Svc::<false>::new().task(
                    TaskSpec::new("t"),
                    |shutdown: Shutdown| async move {
                        shutdown.cancelled().await;
                        Ok(())
                    },
                )),
            );
            registry
                .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(30 * 1000 * MS))
                .unwrap();
        }
        let running = registry.build().unwrap().start().await.unwrap();
        let report = tokio::time::timeout(10 * 1000 * MS, running.stop())
            .await
            .unwrap_or_else(|_| panic!("round {round}: a stop waited for its deadline"));
        assert_eq!(report.services.len(), 200);
        assert!(report.is_clean(), "round {round}: {}", report.summary());
        assert!(
            report.services.iter().all(|s| s.duration < 10 * 1000 * MS),
            "round {round}"
        );
    }
}

// A hook-less service whose tasks ended at once is not done while a child it spawned still
// runs: its stop waits for the child (within `stop_timeout`, without aborting it), and its
// dependency (no task at all) stops the moment it is released.
#[tokio::test(start_paused = true)]
async fn a_hookless_stop_waits_for_children_its_tasks_left_behind() {
    let mut registry = DynRegistry::new();
    let db = registry.add_named("Db", Arc::new(Svc::<false>::new()));
    let api = registry.add_named(
        "Api",
        Arc::new(Svc::<false>::new().task(
            TaskSpec::new("serve"),
            |shutdown: Shutdown| async move {
                let child = shutdown.clone();
                shutdown.spawn(async move {
                    child.cancelled().await;
                    tokio::time::sleep(50 * MS).await;
                });
                shutdown.cancelled().await;
                Ok(())
            },
        )),
    );
    registry.depends_on(api, db).unwrap();
    registry
        .set_service_options(api, ServiceOptions::DEFAULT.stop_timeout(200 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(MS).await;
    let began = Instant::now();
    let report = running.stop().await;
    assert_eq!(began.elapsed(), 50 * MS);
    assert_eq!(report.stop_order(), ["Api", "Db"]);
    let api = report.service("Api").unwrap();
    assert_eq!(
        api.duration,
        50 * MS,
        "waited for the child, not for stop_timeout"
    );
    assert!(api.is_clean(), "the child ended by itself: {api:?}");
    let db = report.service("Db").unwrap();
    assert_eq!(db.duration, Duration::ZERO);
    assert!(report.is_clean());
    assert_no_tasks_alive().await;
}

/// X: no hooks, `stop_timeout = 0`, a task that ignores cancellation. Y: no hooks, a task that
/// needs 500 ms after cancel. Each is cut (or finishes) at its own time, in both orders.
#[tokio::test(start_paused = true)]
async fn hookless_services_stop_concurrently_whatever_the_registration_order() {
    for x_first in [true, false] {
        let mut registry = DynRegistry::new();
        let stubborn = || {
            Arc::new(
                Svc::<false>::new().task(TaskSpec::new("ignores"), |_| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(())
                }),
            )
        };
        let slow =
            || Arc::new(Svc::<false>::new().task(TaskSpec::new("slow"), slow_to_stop(500 * MS)));
        let (x, y) = if x_first {
            let x = registry.add_named("X", stubborn());
            (x.erase(), registry.add_named("Y", slow()).erase())
        } else {
            let y = registry.add_named("Y", slow()).erase();
            (registry.add_named("X", stubborn()).erase(), y)
        };
        registry
            .set_service_options(x, ServiceOptions::DEFAULT.stop_timeout(Duration::ZERO))
            .unwrap();
        let _ = y;
        let running = registry.build().unwrap().start().await.unwrap();
        let report = running.stop().await;
        let x = report.service("X").unwrap();
        let y = report.service("Y").unwrap();
        assert_eq!(
            x.duration,
            Duration::ZERO,
            "X cut at its own 0 ms (x_first = {x_first})"
        );
        assert_eq!(x.tasks_aborted, ["ignores"]);
        assert_eq!(
            y.duration,
            500 * MS,
            "Y finished by itself (x_first = {x_first})"
        );
        assert!(y.is_clean());
        assert_eq!(report.stop_order(), ["X", "Y"], "X released first");
        assert_no_tasks_alive().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_dependency_is_released_the_moment_its_dependent_finished_stopping() {
    // fast -> db; slow is independent and takes 300 ms: db must not wait for it.
    let mut registry = DynRegistry::new();
    let db = registry.add_named(
        "db",
        Arc::new(Svc::<false>::new().task(TaskSpec::new("t"), slow_to_stop(10 * MS))),
    );
    let fast = registry.add_named(
        "fast",
        Arc::new(Svc::<false>::new().task(TaskSpec::new("t"), slow_to_stop(20 * MS))),
    );
    registry.add_named(
        "slow",
        Arc::new(Svc::<false>::new().task(TaskSpec::new("t"), slow_to_stop(300 * MS))),
    );
    registry.depends_on(fast, db).unwrap();
    let recorder = Recorder::new();
    let running = registry.build().unwrap().start().await.unwrap();
    let _ = recorder;
    let report = running.stop().await;
    assert_eq!(report.stop_order(), ["fast", "db", "slow"]);
    assert_eq!(report.service("db").unwrap().duration, 10 * MS);
    assert_eq!(report.duration, 300 * MS);
}

// ---------------------------------------------------------- failures during shutdown

#[tokio::test(start_paused = true)]
async fn a_task_error_and_a_panic_during_stop_are_in_the_report_with_their_values() {
    errors_and_panics_during_stop_are_reported::<true>().await;
}

// The same without stop hooks: each service's last task hands its stop over (no stop future
// of its own), after recording its failure.
#[tokio::test(start_paused = true)]
async fn without_stop_hooks_a_task_error_and_a_panic_during_stop_are_in_the_report_too() {
    errors_and_panics_during_stop_are_reported::<false>().await;
}

async fn errors_and_panics_during_stop_are_reported<const HOOKS: bool>() {
    let mut registry = DynRegistry::new();
    registry.add_named(
        "errs",
        Arc::new(
            Svc::<HOOKS>::new().task(TaskSpec::new("flush"), |shutdown| async move {
                shutdown.cancelled().await;
                Err(DiskFull("/data").into())
            }),
        ),
    );
    registry.add_named(
        "panics",
        Arc::new(
            Svc::<HOOKS>::new().task(TaskSpec::new("drain"), |shutdown| async move {
                shutdown.cancelled().await;
                panic!("drain broke");
            }),
        ),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let report = running.stop().await;
    assert!(!report.is_clean(), "failures during stop make it unclean");
    let errs = report.service("errs").unwrap();
    assert_eq!(errs.state, State::Stopped);
    let task_error = find_source::<TaskError>(&*errs.errors[0]).unwrap();
    assert_eq!(task_error.task, "flush");
    assert_eq!(
        find_source::<DiskFull>(&*errs.errors[0]).unwrap().0,
        "/data"
    );
    let panicked = find_source::<Panicked>(&*report.service("panics").unwrap().errors[0]).unwrap();
    assert_eq!(panicked.0, "drain broke");
    // The run's outcome says so too.
    let Err(RunError::Unclean(same)) = handle.wait().await else {
        panic!("an unclean stop is an error")
    };
    assert!(Arc::ptr_eq(&same, &report));
}

#[tokio::test(start_paused = true)]
async fn children_spawned_by_on_stop_are_awaited_then_aborted_at_the_hook_bound() {
    let finished = Arc::new(AtomicU32::new(0));
    let done = Arc::clone(&finished);
    let mut registry = DynRegistry::new();
    let id = registry.add(Arc::new(Svc::<true>::new().on_stop_with(move |shutdown| {
        let done = Arc::clone(&done);
        async move {
            // One child finishes in 50 ms; one never does.
            shutdown.spawn(async move {
                tokio::time::sleep(50 * MS).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
            shutdown.spawn(std::future::pending());
            Ok(())
        }
    })));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.hook_timeout(200 * MS))
        .unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    let began = Instant::now();
    let report = running.stop().await;
    assert_eq!(began.elapsed(), 200 * MS, "bound by hook_timeout");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the quick child was awaited"
    );
    assert_eq!(
        report.services[0].children_aborted, 1,
        "the other one aborted"
    );
    assert_no_tasks_alive().await;
}

// ------------------------------------------------------------------ errors keep their chain

#[tokio::test(start_paused = true)]
async fn the_users_error_type_downcasts_from_run_error_start_error_and_reports() {
    // Escalation: RunError -> ServiceError -> TaskError -> DiskFull.
    let mut registry = DynRegistry::new();
    registry.add_named(
        "writer",
        Arc::new(Svc::<true>::new().task(TaskSpec::new("write"), |_| async {
            Err(DiskFull("/var").into())
        })),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    let error = running.wait().await.unwrap_err();
    assert_eq!(find_source::<DiskFull>(&error).unwrap().0, "/var");
    assert_eq!(find_source::<TaskError>(&error).unwrap().task, "write");
    let RunError::Escalated {
        error: cause,
        report,
    } = &error
    else {
        panic!("expected an escalation, got {error}")
    };
    assert_eq!(cause.service, "writer");
    assert!(report.escalated.is_some());
    assert_eq!(report.service("writer").unwrap().state, State::Failed);
    assert!(error.to_string().contains("disk full on /var"), "{error}");
    drop(running);

    // A panic is matchable as `Panicked`.
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(
        Svc::<true>::new().task(TaskSpec::new("p"), |_| async {
            panic!("index out of bounds")
        }),
    ));
    let error = registry
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
        .wait()
        .await
        .unwrap_err();
    assert_eq!(
        find_source::<Panicked>(&error).unwrap().0,
        "index out of bounds"
    );

    // Start failure with a failing rollback: both reachable; the alternate form lists both.
    let mut registry = DynRegistry::new();
    let db = registry.add_named(
        "db",
        Arc::new(Svc::<true>::new().on_stop(|| async { Err(DiskFull("/wal").into()) })),
    );
    let api = registry.add_named(
        "api",
        Arc::new(Svc::<true>::new().on_start(|| async { Err(DiskFull("/api").into()) })),
    );
    registry.depends_on(api, db).unwrap();
    let error = registry.build().unwrap().start().await.unwrap_err();
    assert_eq!(find_source::<DiskFull>(&error).unwrap().0, "/api");
    let rollback: Vec<_> = error.rollback_errors().collect();
    assert_eq!(rollback.len(), 1);
    assert_eq!(find_source::<DiskFull>(&**rollback[0]).unwrap().0, "/wal");
    assert!(!error.to_string().contains("/wal"));
    assert!(
        format!("{error:#}")
            .contains("during rollback: service `db` failed in stop: disk full on /wal"),
        "{error:#}"
    );
}

// --------------------------------------------------------------------------- start-up edges

#[tokio::test(start_paused = true)]
async fn an_escalation_during_start_up_fails_the_start_and_rolls_back() {
    let mut registry = DynRegistry::new();
    registry.add_named(
        "quick",
        Arc::new(Svc::<true>::new().task(TaskSpec::new("dies"), |_| async {
            tokio::time::sleep(10 * MS).await;
            Err(DiskFull("/q").into())
        })),
    );
    let slow = registry.add_named(
        "slow",
        Arc::new(Svc::<true>::new().on_start(|| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        })),
    );
    let handle_builder = registry.build().unwrap();
    let handle = handle_builder.handle();
    let began = Instant::now();
    let error = handle_builder.start().await.unwrap_err();
    assert_eq!(
        began.elapsed(),
        10 * MS,
        "acted on at once, not after start-up"
    );
    assert_eq!(error.error.service, "quick");
    assert_eq!(find_source::<DiskFull>(&error).unwrap().0, "/q");
    assert_eq!(
        handle.state(slow.index()),
        Some(State::Stopped),
        "in-flight start dropped"
    );
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_token_starts_nothing_hooks_or_not() {
    for hooks in [false, true] {
        let mut registry = DynRegistry::new();
        let id = if hooks {
            registry.add(Arc::new(Svc::<true>::new())).erase()
        } else {
            registry.add(Arc::new(Svc::<false>::new())).erase()
        };
        let cancel = CancellationToken::new();
        cancel.cancel();
        let built = registry.build().unwrap();
        let handle = built.handle();
        let error = built.start_until(&cancel).await.unwrap_err();
        assert_eq!(error.error.phase, Phase::Cancelled);
        assert_eq!(
            handle.state(id.index()),
            Some(State::New),
            "hooks = {hooks}"
        );
        assert!(handle.is_stopped());
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_before_start_means_the_registry_never_starts() {
    let mut registry = DynRegistry::new();
    let id = registry.add(Arc::new(Svc::<true>::new()));
    let built = registry.build().unwrap();
    let report = built.handle().stop().await;
    assert!(report.services.is_empty());
    let handle = built.handle();
    assert!(built.start().await.is_err());
    assert_eq!(handle.state(id.index()), Some(State::New));
}

// ---------------------------------------------------------------- Duration::MAX and zero

#[tokio::test(start_paused = true)]
async fn duration_max_is_unbounded_on_every_option() {
    let options = RegistryOptions::default()
        .shutdown_timeout(Duration::MAX)
        .health_timeout(Duration::MAX)
        .drain_delay(Duration::ZERO);
    let mut registry = DynRegistry::with_options(options);
    let everything_max = ServiceOptions::DEFAULT
        .start_timeout(Duration::MAX)
        .stop_timeout(Duration::MAX)
        .hook_timeout(Duration::MAX);
    let svc = registry.add_named(
        "max",
        Arc::new(
            Svc::<true>::new()
                .task(
                    TaskSpec::periodic("rare", Duration::MAX).initial_delay(Duration::MAX),
                    |_| async { Ok(()) },
                )
                .task(
                    TaskSpec::new("retry")
                        .restart(Restart::OnFailure)
                        .backoff(Duration::MAX, Duration::MAX)
                        .max_restarts(1, Duration::MAX),
                    |_| async { Err("once".into()) },
                ),
        ),
    );
    registry.set_service_options(svc, everything_max).unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    assert!(running.health().await.ready);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());

    // The escalation path with an unbounded shutdown: the registry stops, no panic.
    let mut registry =
        DynRegistry::with_options(RegistryOptions::default().shutdown_timeout(Duration::MAX));
    registry.add(Arc::new(
        Svc::<true>::new().task(TaskSpec::new("dies"), |_| async { Err("dead".into()) }),
    ));
    let running = registry.build().unwrap().start().await.unwrap();
    assert!(matches!(
        running.wait().await,
        Err(RunError::Escalated { .. })
    ));

    // A drain as long as the shutdown bound ends at that bound.
    let mut registry = DynRegistry::with_options(
        RegistryOptions::default()
            .drain_delay(Duration::MAX)
            .shutdown_timeout(Duration::from_secs(2)),
    );
    registry.add(Arc::new(Svc::<false>::new()));
    let running = registry.build().unwrap().start().await.unwrap();
    let began = Instant::now();
    running.stop().await;
    assert_eq!(began.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn zero_windows_and_periods_are_rejected_like_the_macro_rejects_them() {
    for spec in [
        TaskSpec::new("t")
            .restart(Restart::OnFailure)
            .max_restarts(3, Duration::ZERO),
        TaskSpec::periodic("t", Duration::ZERO),
    ] {
        let mut registry = DynRegistry::new();
        registry.add(Arc::new(
            Svc::<true>::new().task(spec, |_| async { Ok(()) }),
        ));
        let error = registry.build().unwrap().start().await.unwrap_err();
        let invalid = find_source::<lifecycle_core::InvalidTaskSpec>(&error).unwrap();
        assert_eq!(invalid.task, "t");
    }
}

// ----------------------------------------------------------------------------------- names

#[test]
fn a_duplicate_service_name_is_a_build_error() {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Svc::<true>::new()));
    registry.add(Arc::new(Svc::<true>::new()));
    let Err(error) = registry.build() else {
        panic!("two services named Svc")
    };
    assert_eq!(error, BuildError::DuplicateName { name: "Svc".into() });
}

#[tokio::test(start_paused = true)]
async fn events_carry_task_names_attempts_and_registry_phases() {
    let recorder = Recorder::new();
    let mut registry =
        DynRegistry::with_options(recorder.attach(RegistryOptions::default().seed(1)));
    registry.add_named(
        "flaky",
        Arc::new(
            Svc::<true>::new().task(
                TaskSpec::new("poll")
                    .restart(Restart::OnFailure)
                    .backoff(10 * MS, 10 * MS)
                    .jitter(0.0),
                |_| async { Err("no".into()) },
            ),
        ),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(25 * MS).await;
    running.stop().await;
    let events: Vec<Event> = recorder.events().into_iter().map(|(_, e)| e).collect();
    let attempts: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::TaskRestarting {
                task: "poll",
                attempt,
                delay,
                ..
            } => {
                assert_eq!(*delay, 10 * MS);
                Some(*attempt)
            }
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3], "counted without a limit");
    assert!(events.contains(&Event::TaskFailed {
        service: 0,
        task: "poll",
        panicked: false
    }));
    let registry_events: Vec<Event> = events
        .into_iter()
        .filter(|e| e.service().is_none())
        .collect();
    assert_eq!(
        registry_events,
        [
            Event::StartupBegan,
            Event::StartupFinished,
            Event::Draining,
            Event::Stopping,
            Event::Stopped
        ]
    );
}

// ------------------------------------------------------------------- drain and run outcomes

#[tokio::test(start_paused = true)]
async fn a_stop_drains_first_readiness_off_at_once_services_see_it() {
    let mut registry =
        DynRegistry::with_options(RegistryOptions::default().drain_delay(Duration::from_secs(5)));
    let saw_drain = Arc::new(Mutex::new(None));
    let saw_cancel = Arc::new(Mutex::new(None));
    let (d, c) = (Arc::clone(&saw_drain), Arc::clone(&saw_cancel));
    registry.add(Arc::new(Svc::<true>::new().task(
        TaskSpec::new("http"),
        move |shutdown| {
            let (d, c) = (Arc::clone(&d), Arc::clone(&c));
            async move {
                shutdown.draining().await;
                *d.lock().unwrap() = Some(Instant::now());
                shutdown.cancelled().await;
                *c.lock().unwrap() = Some(Instant::now());
                Ok(())
            }
        },
    )));
    let running = registry.build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let began = Instant::now();
    let stop = tokio::spawn(async move { running.stop().await });
    tokio::time::sleep(MS).await;
    assert!(handle.is_draining());
    let health = handle.health().await;
    assert!(!health.ready && health.draining && health.live);
    let report = stop.await.unwrap();
    assert!(report.is_clean());
    assert_eq!(saw_drain.lock().unwrap().unwrap() - began, Duration::ZERO);
    assert_eq!(
        saw_cancel.lock().unwrap().unwrap() - began,
        Duration::from_secs(5)
    );
    assert_eq!(
        report.duration,
        Duration::from_secs(5),
        "the drain counts in the stop"
    );
}

#[tokio::test(start_paused = true)]
async fn run_until_returns_ok_only_for_a_clean_stop() {
    // Clean.
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Svc::<true>::new()));
    let outcome = registry
        .build()
        .unwrap()
        .run_until(tokio::time::sleep(MS))
        .await;
    assert!(outcome.unwrap().is_clean());

    // Timed out: a task aborted at its stop_timeout.
    let mut registry = DynRegistry::new();
    let id = registry.add(Arc::new(Svc::<true>::new().task(
        TaskSpec::new("stuck"),
        |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        },
    )));
    registry
        .set_service_options(id, ServiceOptions::DEFAULT.stop_timeout(10 * MS))
        .unwrap();
    let outcome = registry
        .build()
        .unwrap()
        .run_until(tokio::time::sleep(MS))
        .await;
    let Err(RunError::Unclean(report)) = outcome else {
        panic!("expected unclean, got {outcome:?}")
    };
    assert_eq!(report.services[0].tasks_aborted, ["stuck"]);

    // Escalated: the report is attached.
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(
        Svc::<true>::new().task(TaskSpec::new("dies"), |_| async { Err("dead".into()) }),
    ));
    let outcome = registry
        .build()
        .unwrap()
        .run_until(std::future::pending())
        .await;
    let Err(RunError::Escalated { report, .. }) = outcome else {
        panic!("expected an escalation")
    };
    assert_eq!(report.stop_order(), ["Svc"]);
}

#[tokio::test(start_paused = true)]
async fn a_registry_stop_during_a_stop_dependents_escalation_wins() {
    let mut registry = DynRegistry::new();
    let failing = registry.add_named(
        "failing",
        Arc::new(Svc::<true>::new().task(TaskSpec::new("dies"), |_| async { Err("x".into()) })),
    );
    registry
        .set_service_options(
            failing,
            ServiceOptions::DEFAULT.escalation(Escalation::StopDependents),
        )
        .unwrap();
    let dependent = registry.add_named(
        "dependent",
        Arc::new(Svc::<true>::new().task(TaskSpec::new("t"), slow_to_stop(100 * MS))),
    );
    registry.depends_on(dependent, failing).unwrap();
    registry.add_named(
        "other",
        Arc::new(Svc::<true>::new().task(TaskSpec::new("t"), slow_to_stop(30 * MS))),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    tokio::time::sleep(10 * MS).await; // the dependent is stopping (100 ms)
    let began = Instant::now();
    let report = running.stop().await;
    assert_eq!(began.elapsed(), 90 * MS, "joined the escalation's stop");
    let mut order = report.stop_order();
    order.sort_unstable();
    assert_eq!(order, ["dependent", "failing", "other"]);
    assert_eq!(report.service("failing").unwrap().state, State::Failed);
    assert_no_tasks_alive().await;
}

// ------------------------------------------------------------------ programs that end

#[tokio::test(start_paused = true)]
async fn a_task_with_on_exit_stop_ends_the_program_when_its_work_is_done() {
    let mut registry = DynRegistry::new();
    registry.add_named(
        "import",
        Arc::new(Svc::<true>::new().task(
            TaskSpec::new("load").on_exit(lifecycle_core::OnExit::Stop),
            |_| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok(())
            },
        )),
    );
    registry.add_named(
        "server",
        Arc::new(
            Svc::<true>::new().task(TaskSpec::new("serve"), |s| async move {
                s.cancelled().await;
                Ok(())
            }),
        ),
    );
    let began = Instant::now();
    let report = registry
        .build()
        .unwrap()
        .run_until(std::future::pending())
        .await
        .unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(3));
    assert!(report.is_clean());

    // A failure is not a normal end: the escalation applies instead.
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Svc::<true>::new().task(
        TaskSpec::new("load").on_exit(lifecycle_core::OnExit::Stop),
        |_| async { Err(DiskFull("/in").into()) },
    )));
    let outcome = registry
        .build()
        .unwrap()
        .run_until(std::future::pending())
        .await;
    assert!(matches!(outcome, Err(RunError::Escalated { .. })));
}

#[tokio::test(start_paused = true)]
async fn stop_when_idle_stops_once_every_task_has_finished() {
    let options = RegistryOptions::default().stop_when_idle(true);
    let mut registry = DynRegistry::with_options(options);
    for (name, secs) in [("a", 1), ("b", 4), ("c", 2)] {
        registry.add_named(
            name,
            Arc::new(
                Svc::<true>::new().task(TaskSpec::new("work"), move |_| async move {
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                    Ok(())
                }),
            ),
        );
    }
    // A task finishing during start-up does not stop it half-way.
    registry.add_named(
        "slow-start",
        Arc::new(Svc::<true>::new().on_start(|| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok(())
        })),
    );
    let began = Instant::now();
    let report = registry
        .build()
        .unwrap()
        .run_until(std::future::pending())
        .await
        .unwrap();
    assert_eq!(
        began.elapsed(),
        Duration::from_secs(4),
        "when the last task (b) finished"
    );
    assert_eq!(report.services.len(), 4);

    // No task at all: stops right after start-up.
    let mut registry = DynRegistry::with_options(RegistryOptions::default().stop_when_idle(true));
    registry.add(Arc::new(Svc::<true>::new()));
    let report = registry
        .build()
        .unwrap()
        .run_until(std::future::pending())
        .await
        .unwrap();
    assert!(report.is_clean());
}

#[tokio::test(start_paused = true)]
async fn the_summary_names_the_escalating_failure_once() {
    let mut registry = DynRegistry::new();
    registry.add_named(
        "writer",
        Arc::new(Svc::<true>::new().task(TaskSpec::new("write"), |_| async {
            Err(DiskFull("/once").into())
        })),
    );
    let running = registry.build().unwrap().start().await.unwrap();
    let Err(RunError::Escalated { report, .. }) = running.wait().await else {
        panic!("expected an escalation")
    };
    assert_eq!(
        report.summary().matches("/once").count(),
        1,
        "{}",
        report.summary()
    );
}
