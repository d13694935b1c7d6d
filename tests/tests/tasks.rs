//! Background tasks and hooks through a real registry, on paused time: periodic cadence,
//! restart with backoff and seeded jitter, intensity escalation, hook order, cancellation by
//! arity, blocking tasks.
#![warn(clippy::pedantic)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{Phase, Registry, RegistryOptions, RunError, Service, Shutdown, State};
use tokio::time::Instant;

fn offsets(times: &Mutex<Vec<Instant>>, origin: Instant) -> Vec<Duration> {
    times.lock().unwrap().iter().map(|t| *t - origin).collect()
}

fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().copied().map(Duration::from_secs).collect()
}

// ---------------------------------------------------------------- periodic cadence

#[derive(Service, Default)]
#[service(tasks)]
struct Ticker {
    runs: Mutex<Vec<Instant>>,
    delayed: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Ticker {
    #[background_task(every = "30s")]
    async fn every_30s(&self, _shutdown: Shutdown) {
        self.runs.lock().unwrap().push(Instant::now());
    }

    #[background_task(every = "10s", initial_delay = "5s", name = "delayed")]
    async fn delayed_tick(&self) {
        self.delayed.lock().unwrap().push(Instant::now());
    }
}

#[derive(Registry)]
struct Clock {
    ticker: Ticker,
}

#[tokio::test(start_paused = true)]
async fn periodic_tasks_run_on_cadence_and_stop_at_once() {
    let origin = Instant::now();
    let running = Clock::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(94)).await;
    let ticker = Arc::clone(&running.ticker);
    let stop_began = Instant::now();
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(
        stop_began.elapsed(),
        Duration::ZERO,
        "a task sleeping in its interval stops at once"
    );
    assert_eq!(offsets(&ticker.runs, origin), secs(&[0, 30, 60, 90]));
    assert_eq!(
        offsets(&ticker.delayed, origin),
        secs(&[5, 15, 25, 35, 45, 55, 65, 75, 85])
    );
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- restart with backoff

#[derive(Service, Default)]
#[service(tasks)]
struct Flaky {
    attempts: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Flaky {
    #[background_task(
        restart = "on_failure",
        backoff = "1s",
        max_backoff = "4s",
        jitter = 0.0
    )]
    async fn connect(&self, _shutdown: Shutdown) -> std::io::Result<()> {
        self.attempts.lock().unwrap().push(Instant::now());
        Err(std::io::Error::other("connection refused"))
    }
}

#[derive(Registry)]
struct FlakyApp {
    flaky: Flaky,
}

#[tokio::test(start_paused = true)]
async fn failed_runs_restart_with_exponential_backoff() {
    let recorder = Recorder::new();
    let origin = Instant::now();
    let running = FlakyApp::builder()
        .options(recorder.attach(RegistryOptions::default().seed(1)))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(15_500)).await;
    let flaky = Arc::clone(&running.flaky);
    let report = running.stop().await;
    assert!(report.escalated.is_none());
    // 1 s, 2 s, 4 s, then capped at 4 s.
    assert_eq!(
        offsets(&flaky.attempts, origin),
        secs(&[0, 1, 3, 7, 11, 15])
    );
    assert_eq!(recorder.task_failures("Flaky"), 6);
    assert_eq!(
        recorder.transitions_of("Flaky").last(),
        Some(&State::Stopped)
    );
    assert_no_tasks_alive().await;
}

#[derive(Service, Default)]
#[service(tasks)]
struct Jittery {
    attempts: Mutex<Vec<Instant>>,
}

#[lifecycle_core::tasks]
impl Jittery {
    // Default jitter (0.1): each 10 s delay is shortened by up to 1 s.
    #[background_task(restart = "always", backoff = "10s", max_backoff = "10s")]
    async fn poll(&self) -> Result<(), &'static str> {
        self.attempts.lock().unwrap().push(Instant::now());
        Err("unavailable")
    }
}

#[derive(Registry)]
struct JitteryApp {
    jittery: Jittery,
}

async fn jittered_delays(seed: u64) -> Vec<Duration> {
    let running = JitteryApp::builder()
        .options(RegistryOptions::default().seed(seed))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_mins(1)).await;
    let jittery = Arc::clone(&running.jittery);
    running.stop().await;
    let attempts = jittery.attempts.lock().unwrap().clone();
    attempts.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn jitter_is_bounded_and_repeatable_with_a_seed() {
    let first = jittered_delays(1).await;
    let second = jittered_delays(1).await;
    assert!(first.len() >= 5, "{first:?}");
    assert_eq!(first, second, "the same seed gives the same schedule");
    for delay in &first {
        assert!(
            *delay >= Duration::from_secs(9) && *delay <= Duration::from_secs(10),
            "{delay:?}"
        );
    }
    assert!(
        first.iter().any(|d| *d < Duration::from_secs(10)),
        "jitter applied: {first:?}"
    );
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- intensity escalation

#[derive(Service, Default)]
#[service(tasks)]
struct Doomed {
    attempts: AtomicU32,
}

#[lifecycle_core::tasks]
impl Doomed {
    #[background_task(
        restart = "on_failure",
        max_restarts = 2,
        within = "60s",
        backoff = "1s",
        jitter = 0.0
    )]
    async fn work(&self, _shutdown: Shutdown) -> anyhow::Result<()> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        anyhow::bail!("disk on fire")
    }
}

#[derive(Service)]
struct Bystander {}

#[derive(Registry)]
struct DoomedApp {
    bystander: Bystander,
    doomed: Doomed,
}

#[tokio::test(start_paused = true)]
async fn restarts_past_the_intensity_limit_shut_the_registry_down() {
    let recorder = Recorder::new();
    let origin = Instant::now();
    let running = DoomedApp::builder()
        .options(recorder.attach(RegistryOptions::default().seed(1)))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let doomed = Arc::clone(&running.doomed);
    let error = running.wait().await.unwrap_err();
    let RunError::Escalated { error, .. } = error else {
        panic!("expected an escalation, got {error}");
    };
    assert_eq!(error.service, "Doomed");
    assert_eq!(error.phase, Phase::Task);
    assert!(error.to_string().contains("disk on fire"), "{error}");
    // Runs at 0 s, 1 s, 3 s: two restarts allowed, the third failure escalates.
    assert_eq!(origin.elapsed(), Duration::from_secs(3));
    assert_eq!(doomed.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(
        recorder.transitions_of("Doomed").last(),
        Some(&State::Failed)
    );
    assert_eq!(
        recorder.transitions_of("Bystander").last(),
        Some(&State::Stopped)
    );
    let report = running.stop().await;
    assert_eq!(
        report.escalated.as_ref().map(|e| e.service.as_str()),
        Some("Doomed")
    );
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- hook order

#[derive(Service, Default)]
#[service(tasks)]
struct Ordered {
    log: Mutex<Vec<&'static str>>,
}

impl Ordered {
    fn note(&self, what: &'static str) {
        self.log.lock().unwrap().push(what);
    }
}

#[lifecycle_core::tasks]
impl Ordered {
    #[on_start]
    async fn open(&self) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.note("on_start");
    }

    #[on_stop]
    async fn close(&self) -> Result<(), std::io::Error> {
        self.note("on_stop");
        Ok(())
    }

    #[background_task]
    async fn work(&self, shutdown: Shutdown) {
        self.note("task started");
        shutdown.cancelled().await;
        tokio::time::sleep(Duration::from_secs(2)).await; // cleanup within stop_timeout
        self.note("task ended");
    }
}

#[derive(Registry)]
struct OrderedApp {
    ordered: Ordered,
}

#[tokio::test(start_paused = true)]
async fn on_start_precedes_tasks_and_on_stop_follows_them() {
    let running = OrderedApp::builder()
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let ordered = Arc::clone(&running.ordered);
    tokio::task::yield_now().await;
    let stop_began = Instant::now();
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(stop_began.elapsed(), Duration::from_secs(2));
    assert_eq!(
        *ordered.log.lock().unwrap(),
        ["on_start", "task started", "task ended", "on_stop"]
    );
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- cancellation by arity

struct OnDrop<'a>(&'a Mutex<Vec<&'static str>>);

impl Drop for OnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap().push("dropped");
    }
}

#[derive(Service, Default)]
#[service(stop_timeout = "3s", tasks)]
struct NoHandle {
    log: Mutex<Vec<&'static str>>,
}

#[lifecycle_core::tasks]
impl NoHandle {
    /// No `Shutdown` parameter: the future is dropped when the service stops.
    #[background_task]
    async fn forever(&self) {
        let _guard = OnDrop(&self.log);
        std::future::pending::<()>().await;
    }
}

#[derive(Service, Default)]
#[service(stop_timeout = "3s", tasks)]
struct Stubborn {}

#[lifecycle_core::tasks]
impl Stubborn {
    /// Takes a `Shutdown` but ignores it: aborted at `stop_timeout`.
    #[background_task]
    async fn ignores_shutdown(&self, _shutdown: Shutdown) {
        tokio::time::sleep(Duration::from_hours(1)).await;
    }
}

#[derive(Registry)]
struct DropApp {
    no_handle: NoHandle,
}

#[derive(Registry)]
struct StubbornApp {
    stubborn: Stubborn,
}

#[tokio::test(start_paused = true)]
async fn a_task_without_shutdown_is_dropped_at_once() {
    let running = DropApp::builder().build().unwrap().start().await.unwrap();
    tokio::task::yield_now().await;
    let service = Arc::clone(&running.no_handle);
    let stop_began = Instant::now();
    let report = running.stop().await;
    assert_eq!(stop_began.elapsed(), Duration::ZERO);
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(*service.log.lock().unwrap(), ["dropped"]);
    assert_no_tasks_alive().await;
}

#[tokio::test(start_paused = true)]
async fn a_task_ignoring_shutdown_is_aborted_at_stop_timeout() {
    let running = StubbornApp::builder()
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    tokio::task::yield_now().await;
    let stop_began = Instant::now();
    let report = running.stop().await;
    assert_eq!(stop_began.elapsed(), Duration::from_secs(3));
    assert_eq!(
        report.service("Stubborn").unwrap().tasks_aborted,
        ["ignores_shutdown"]
    );
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- blocking tasks (real time)

#[derive(Service, Default)]
#[service(stop_timeout = "100ms", tasks)]
struct Crunch {
    samples: AtomicU32,
    polite_returned: AtomicU32,
}

#[lifecycle_core::tasks]
impl Crunch {
    #[background_task(blocking)]
    #[allow(clippy::unnecessary_wraps)] // shows that `io::Result<()>` is accepted
    fn polite(&self, shutdown: Shutdown) -> std::io::Result<()> {
        while !shutdown.is_cancelled() {
            std::thread::sleep(Duration::from_millis(2));
        }
        self.polite_returned.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    #[background_task(blocking, name = "stuck")]
    fn ignores_everything(&self) {
        std::thread::sleep(Duration::from_millis(600));
    }

    #[background_task(blocking, every = "10ms")]
    fn sample(&self, _shutdown: Shutdown) {
        self.samples.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Registry)]
struct CrunchApp {
    crunch: Crunch,
}

// Blocking tasks run on real threads, which keep paused time from auto-advancing: real time.
#[tokio::test]
async fn blocking_tasks_run_on_the_pool_and_stragglers_are_reported() {
    let running = CrunchApp::builder().build().unwrap().start().await.unwrap();
    let crunch = Arc::clone(&running.crunch);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = running.stop().await;
    let service = report.service("Crunch").unwrap();
    assert_eq!(
        service.blocking_still_running,
        ["stuck"],
        "{}",
        report.summary()
    );
    assert_eq!(crunch.polite_returned.load(Ordering::SeqCst), 1);
    assert!(crunch.samples.load(Ordering::SeqCst) >= 3);
    assert!(!report.is_clean());
}
