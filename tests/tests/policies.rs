//! The options that the derive gained for engine features, through real registries on paused
//! time: `#[background_task(on_exit = …)]`, `#[on_reload]`, and the service-level restart
//! policy of `#[service(restart = "on_failure", …)]` with `ready_in_backoff`.
#![warn(clippy::pedantic)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::testing::assert_no_tasks_alive;
use lifecycle_core::{
    Phase, Registry, RunError, Service, ServiceRestart, Shutdown, State, find_source,
};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[derive(Debug)]
struct Failed(u32);
impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed with {}", self.0)
    }
}
impl std::error::Error for Failed {}

// ---------------------------------------------------------------- on_exit

#[derive(Service, Default)]
#[service(tasks)]
struct Import {
    attempts: AtomicU32,
    ended: Mutex<Option<Instant>>,
}

#[lifecycle_core::tasks]
impl Import {
    /// Fails its first run, then succeeds after 3 s of work: the registry stops then.
    #[background_task(on_exit = "stop", restart = "on_failure", backoff = "2s", jitter = 0.0)]
    async fn import(&self, _shutdown: Shutdown) -> Result<(), Failed> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_secs(3)).await;
        if attempt == 1 {
            return Err(Failed(attempt));
        }
        *self.ended.lock().unwrap() = Some(Instant::now());
        Ok(())
    }

    /// Ends at once with the default (`"continue"`): the registry runs on.
    #[background_task(on_exit = "continue")]
    async fn announce(&self) {}
}

#[derive(Service, Default)]
#[service(tasks)]
struct Sidecar {
    stopped_at: Mutex<Option<Instant>>,
}

#[lifecycle_core::tasks]
impl Sidecar {
    #[background_task]
    async fn serve(&self, shutdown: Shutdown) {
        shutdown.cancelled().await;
        *self.stopped_at.lock().unwrap() = Some(Instant::now());
    }
}

#[derive(Registry)]
struct Batch {
    import: Import,
    sidecar: Sidecar,
}

#[tokio::test(start_paused = true)]
async fn on_exit_stop_stops_the_registry_when_the_task_returns_ok() {
    let t0 = Instant::now();
    let running = Batch::builder().build().unwrap().start().await.unwrap();
    let (import, sidecar) = (Arc::clone(&running.import), Arc::clone(&running.sidecar));
    let report = tokio::time::timeout(Duration::from_hours(1), running.handle().wait())
        .await
        .expect("the registry stopped when `import` returned `Ok`")
        .expect("a clean stop");
    assert!(report.is_clean(), "{}", report.summary());
    // First run fails at 3 s, restarted after the 2 s backoff, succeeds at 8 s: the stop.
    assert_eq!(import.attempts.load(Ordering::SeqCst), 2);
    assert_eq!(
        import.ended.lock().unwrap().map(|t| t - t0),
        Some(secs(8.0))
    );
    assert_eq!(
        sidecar.stopped_at.lock().unwrap().map(|t| t - t0),
        Some(secs(8.0)),
        "the other services stop with it"
    );
    assert_eq!(t0.elapsed(), secs(8.0));
    drop(running);
    assert_no_tasks_alive().await;
}

#[derive(Service, Default)]
#[service(tasks)]
struct OneShot {
    done: AtomicU32,
}

#[lifecycle_core::tasks]
impl OneShot {
    #[background_task]
    async fn once(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Registry)]
struct Continues {
    one_shot: OneShot,
}

#[tokio::test(start_paused = true)]
async fn without_on_exit_a_finished_task_leaves_the_registry_running() {
    let running = Continues::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_mins(1)).await;
    assert_eq!(running.one_shot.done.load(Ordering::SeqCst), 1);
    assert!(!running.handle().is_stopping());
    assert_eq!(running.states(), [("OneShot".to_string(), State::Running)]);
    assert!(running.stop().await.is_clean());
}

// ---------------------------------------------------------------- on_reload

#[derive(Service, Default)]
#[service(tasks)]
struct Config {
    reloads: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Config {
    #[on_reload]
    async fn reread(&self) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_secs(2)).await;
        self.reloads.lock().unwrap().push(Instant::now());
        Ok(())
    }
}

#[derive(Service)]
#[service(tasks)]
struct Frontend {
    #[depends_on]
    config: Arc<Config>,
    reloads: Mutex<Vec<Instant>>,
    fail_next: AtomicU32,
}

#[lifecycle_core::tasks]
impl Frontend {
    /// A plain `fn` returning `Result`: reloads after `Config`, fails when told to.
    #[on_reload]
    fn reload_routes(&self) -> Result<(), Failed> {
        self.reloads.lock().unwrap().push(Instant::now());
        match self.fail_next.swap(0, Ordering::SeqCst) {
            0 => Ok(()),
            code => Err(Failed(code)),
        }
    }

    #[background_task]
    async fn serve(&self, shutdown: Shutdown) {
        let _ = &self.config;
        shutdown.cancelled().await;
    }
}

/// A service with hooks but no `#[on_reload]`: not part of a reload.
#[derive(Service, Default)]
#[service(tasks)]
struct Static {}

#[lifecycle_core::tasks]
impl Static {
    #[on_start]
    async fn start(&self) {}

    #[cfg(any())]
    #[on_reload]
    async fn never_compiled(&self) {}
}

#[derive(Registry)]
struct Site {
    config: Config,
    frontend: Frontend,
    static_files: Static,
}

#[tokio::test(start_paused = true)]
async fn reload_calls_on_reload_in_dependency_order_and_reports_errors() {
    const {
        assert!(<Config as Service>::HAS_RELOAD_HOOK);
        assert!(<Frontend as Service>::HAS_RELOAD_HOOK);
        assert!(
            !<Static as Service>::HAS_RELOAD_HOOK,
            "under a false `#[cfg]`"
        );
    }
    let running = Site::builder().build().unwrap().start().await.unwrap();
    let handle = running.handle();
    let t0 = Instant::now();
    let report = handle.reload().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    let names: Vec<&str> = report.services.iter().map(|s| &*s.service).collect();
    assert_eq!(names, ["Config", "Frontend"], "only services with a hook");
    assert_eq!(*running.config.reloads.lock().unwrap(), [t0 + secs(2.0)]);
    assert_eq!(
        *running.frontend.reloads.lock().unwrap(),
        [t0 + secs(2.0)],
        "after its dependency's reload ended"
    );
    assert_eq!(report.service("Frontend").unwrap().began_after, secs(2.0));
    assert_eq!(report.duration, secs(2.0));

    // A failing reload is reported with the user's error, and stops nothing.
    running.frontend.fail_next.store(7, Ordering::SeqCst);
    let report = handle.reload().await.unwrap();
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1, "{report:?}");
    assert_eq!(errors[0].service, "Frontend");
    assert_eq!(errors[0].phase, Phase::Reload);
    assert_eq!(find_source::<Failed>(&**errors[0]).unwrap().0, 7);
    assert!(
        running
            .states()
            .iter()
            .all(|(_, state)| *state == State::Running)
    );
    assert_eq!(running.frontend.reloads.lock().unwrap().len(), 2);
    assert!(running.stop().await.is_clean());
    assert_no_tasks_alive().await;
}

/// Two `#[on_reload]` under exclusive `#[cfg]`s are alternatives: the configured-in one runs.
#[derive(Service, Default)]
#[service(tasks)]
struct Platform {
    reloaded: Mutex<Vec<&'static str>>,
}

#[lifecycle_core::tasks]
impl Platform {
    #[cfg(debug_assertions)]
    #[on_reload]
    fn reload_debug(&self) {
        self.reloaded.lock().unwrap().push("debug");
    }

    #[cfg(not(debug_assertions))]
    #[on_reload]
    fn reload_release(&self) {
        self.reloaded.lock().unwrap().push("release");
    }
}

#[derive(Registry)]
struct Portable {
    platform: Platform,
}

#[tokio::test(start_paused = true)]
async fn on_reload_under_exclusive_cfgs_runs_the_configured_one() {
    const {
        assert!(<Platform as Service>::HAS_RELOAD_HOOK);
    }
    let running = Portable::builder().build().unwrap().start().await.unwrap();
    let t0 = Instant::now();
    let report = running.handle().reload().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(t0.elapsed(), Duration::ZERO);
    let expected = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    assert_eq!(*running.platform.reloaded.lock().unwrap(), [expected]);
    assert!(running.stop().await.is_clean());
}

// ---------------------------------------------------------------- service-level restart

/// Each incarnation fails 100 ms after it started.
#[derive(Service, Default)]
#[service(
    tasks,
    restart = "on_failure",
    max_restarts = 2,
    within = "60s",
    backoff = "1s",
    max_backoff = "1500ms"
)]
struct Listener {
    starts: Mutex<Vec<Instant>>,
    stops: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Listener {
    #[on_start]
    fn started(&self) {
        self.starts.lock().unwrap().push(Instant::now());
    }

    #[on_stop]
    fn stopped(&self) {
        self.stops.lock().unwrap().push(Instant::now());
    }

    #[background_task]
    async fn accept(&self, _shutdown: Shutdown) -> Result<(), Failed> {
        tokio::time::sleep(100 * MS).await;
        Err(Failed(9000))
    }
}

#[derive(Service)]
#[service(tasks)]
struct Api {
    #[depends_on]
    listener: Arc<Listener>,
    starts: Mutex<Vec<Instant>>,
    stops: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Api {
    #[on_start]
    fn started(&self) {
        let _ = &self.listener;
        self.starts.lock().unwrap().push(Instant::now());
    }

    #[on_stop]
    fn stopped(&self) {
        self.stops.lock().unwrap().push(Instant::now());
    }
}

#[derive(Service, Default)]
#[service(tasks)]
struct Unrelated {
    starts: AtomicU32,
}

#[lifecycle_core::tasks]
impl Unrelated {
    #[on_start]
    fn started(&self) {
        self.starts.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Registry)]
struct Server {
    listener: Listener,
    api: Api,
    unrelated: Unrelated,
}

fn since(times: &Mutex<Vec<Instant>>, t0: Instant) -> Vec<Duration> {
    times.lock().unwrap().iter().map(|t| *t - t0).collect()
}

#[tokio::test(start_paused = true)]
async fn a_failing_service_is_restarted_with_its_dependents_then_escalates() {
    assert_eq!(
        Listener::OPTIONS.restart,
        Some(
            ServiceRestart::DEFAULT
                .max_restarts(2, Duration::from_mins(1))
                .backoff(Duration::from_secs(1), 1500 * MS)
        )
    );
    let t0 = Instant::now();
    let built = Server::builder().build().unwrap();
    let (listener, api, unrelated) = (
        Arc::clone(&built.services().listener),
        Arc::clone(&built.services().api),
        Arc::clone(&built.services().unrelated),
    );
    let outcome = built.run_until(std::future::pending()).await;
    // Failures at 0.1 s, 1.2 s and 2.8 s: restarts after 1 s, then 1.5 s (2 s capped);
    // the third failure is past the limit of 2 within 60 s: the registry shuts down.
    let expected = [Duration::ZERO, secs(1.1), secs(2.7)];
    assert_eq!(since(&listener.starts, t0), expected);
    assert_eq!(
        since(&api.starts, t0),
        expected,
        "its dependent went with it"
    );
    assert_eq!(
        since(&api.stops, t0),
        [secs(0.1), secs(1.2), secs(2.8)],
        "the dependent stops at each failure, before the service"
    );
    assert_eq!(
        since(&listener.stops, t0),
        [secs(0.1), secs(1.2), secs(2.8)]
    );
    assert_eq!(
        unrelated.starts.load(Ordering::SeqCst),
        1,
        "the rest ran on"
    );
    assert_eq!(t0.elapsed(), secs(2.8));
    let Err(RunError::Escalated { error, .. }) = outcome else {
        panic!("past the limit, the escalation applies: {outcome:?}")
    };
    assert_eq!(error.service, "Listener");
    assert_eq!(find_source::<Failed>(&*error).unwrap().0, 9000);
    assert_no_tasks_alive().await;
}

/// Omitted keys keep `ServiceRestart::DEFAULT` (3 restarts, backoff 1 s doubling to 60 s);
/// past the limit, `stop_dependents` stops it with its dependents and the rest runs on.
#[derive(Service, Default)]
#[service(tasks, restart = "on_failure", escalation = "stop_dependents")]
struct Worker {
    starts: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Worker {
    #[on_start]
    fn started(&self) {
        self.starts.lock().unwrap().push(Instant::now());
    }

    #[background_task]
    async fn work(&self) -> Result<(), Failed> {
        Err(Failed(1))
    }
}

#[derive(Registry)]
struct Farm {
    worker: Worker,
    unrelated: Unrelated,
}

#[tokio::test(start_paused = true)]
async fn default_restart_keys_and_stop_dependents_past_the_limit() {
    assert_eq!(Worker::OPTIONS.restart, Some(ServiceRestart::DEFAULT));
    let t0 = Instant::now();
    let running = Farm::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    // Fails at once each time: restarts after 1, 2 and 4 s; the fourth failure escalates.
    assert_eq!(
        since(&running.worker.starts, t0),
        [Duration::ZERO, secs(1.0), secs(3.0), secs(7.0)]
    );
    assert_eq!(
        running.states(),
        [
            ("Worker".to_string(), State::Failed),
            ("Unrelated".to_string(), State::Running)
        ]
    );
    let _ = running.stop().await;
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- ready_in_backoff

#[derive(Service, Default)]
#[service(tasks, ready_in_backoff = true)]
struct Exporter {}

#[lifecycle_core::tasks]
impl Exporter {
    #[background_task(restart = "on_failure", backoff = "10s", jitter = 0.0)]
    async fn export(&self) -> Result<(), Failed> {
        Err(Failed(2))
    }
}

#[derive(Service, Default)]
#[service(tasks)]
struct Essential {}

#[lifecycle_core::tasks]
impl Essential {
    #[background_task(restart = "on_failure", backoff = "10s", jitter = 0.0)]
    async fn serve(&self) -> Result<(), Failed> {
        Err(Failed(3))
    }
}

#[derive(Registry)]
struct Probed {
    exporter: Exporter,
    essential: Essential,
}

#[tokio::test(start_paused = true)]
async fn ready_in_backoff_keeps_a_service_ready_while_its_tasks_wait() {
    const {
        assert!(Exporter::OPTIONS.ready_in_backoff);
        assert!(!Essential::OPTIONS.ready_in_backoff);
    }
    let running = Probed::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = running.handle().health().await;
    let healthy: Vec<(&str, bool)> = report
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.health.is_healthy()))
        .collect();
    assert_eq!(healthy, [("Exporter", true), ("Essential", false)]);
    assert!(!report.ready);
    let _ = running.stop().await;
    assert_no_tasks_alive().await;
}
