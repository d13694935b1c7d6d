//! The metrics observer, read back through a small in-test recorder installed globally
//! (this test binary holds one test so nothing else records into it). Virtual time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_core::ops::metrics as lm;
use lifecycle_core::{
    BoxError, DynRegistry, Escalation, RegistryOptions, Restart, Service, ServiceOptions,
    TaskSpawner, TaskSpec,
};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// Every metric by `name{label=value,...}`.
#[derive(Default)]
struct Store {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<String, Arc<GaugeCell>>>,
    histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
}

#[derive(Default)]
struct GaugeCell(Mutex<f64>);
impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        *self.0.lock().unwrap() += value;
    }
    fn decrement(&self, value: f64) {
        *self.0.lock().unwrap() -= value;
    }
    fn set(&self, value: f64) {
        *self.0.lock().unwrap() = value;
    }
}

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);
impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

struct Count(Arc<AtomicU64>);
impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

fn render(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

#[derive(Clone, Default)]
struct TestRecorder(Arc<Store>);

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = Arc::clone(
            self.0
                .counters
                .lock()
                .unwrap()
                .entry(render(key))
                .or_default(),
        );
        Counter::from_arc(Arc::new(Count(cell)))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::clone(
            self.0
                .gauges
                .lock()
                .unwrap()
                .entry(render(key))
                .or_default(),
        ))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::clone(
            self.0
                .histograms
                .lock()
                .unwrap()
                .entry(render(key))
                .or_default(),
        ))
    }
}

impl Store {
    fn counter(&self, key: &str) -> Option<u64> {
        self.counters
            .lock()
            .unwrap()
            .get(key)
            .map(|c| c.load(Ordering::Relaxed))
    }
    fn gauge(&self, key: &str) -> Option<f64> {
        self.gauges
            .lock()
            .unwrap()
            .get(key)
            .map(|g| *g.0.lock().unwrap())
    }
    fn samples(&self, key: &str) -> Vec<f64> {
        self.histograms
            .lock()
            .unwrap()
            .get(key)
            .map(|h| h.0.lock().unwrap().clone())
            .unwrap_or_default()
    }
}

/// Starts in 300 ms, stops in 200 ms.
struct Db;
impl Service for Db {
    const NAME: &'static str = "Db";
    async fn on_start(&self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(())
    }
    async fn on_stop(&self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }
}

/// Task `crash` fails every run: restarted twice (backoff 1 s), then the service is Failed.
struct Flaky;
impl Service for Flaky {
    const NAME: &'static str = "Flaky";
    const HAS_START_HOOK: bool = false;
    const HAS_STOP_HOOK: bool = false;
    const OPTIONS: ServiceOptions = ServiceOptions::DEFAULT.escalation(Escalation::StopDependents);
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        tasks.spawn(TaskSpec::new("steady"), |shutdown| async move {
            shutdown.cancelled().await;
            Ok::<(), std::io::Error>(())
        });
        tasks.spawn(
            TaskSpec::new("crash")
                .restart(Restart::OnFailure)
                .max_restarts(2, Duration::from_secs(60))
                .backoff(Duration::from_secs(1), Duration::from_secs(1))
                .jitter(0.0),
            |_| async { Err::<(), _>(std::io::Error::other("boom")) },
        );
    }
}

#[tokio::test(start_paused = true)]
async fn records_states_durations_and_task_failures() {
    let recorder = TestRecorder::default();
    let store = Arc::clone(&recorder.0);
    metrics::set_global_recorder(recorder).expect("the only recorder in this binary");

    let mut registry = DynRegistry::with_options(lm::observe(RegistryOptions::default().seed(1)));
    registry.add(Arc::new(Db));
    registry.add(Arc::new(Flaky));
    let running = registry.build().unwrap().start().await.unwrap();

    assert_eq!(
        store.gauge("lifecycle_service_state{service=Db}"),
        Some(2.0)
    );
    assert_eq!(
        store.samples("lifecycle_service_start_duration_seconds{service=Db}"),
        [0.3]
    );
    assert_eq!(
        store.samples("lifecycle_service_start_duration_seconds{service=Flaky}"),
        [0.0],
        "no start hook: Running at once"
    );
    assert_eq!(
        store.samples("lifecycle_registry_startup_duration_seconds{}"),
        [0.3]
    );

    // Three failures (the first run and two restarts), two restarts, then Failed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        store.counter("lifecycle_task_failures_total{service=Flaky,task=crash}"),
        Some(3)
    );
    assert_eq!(
        store.counter("lifecycle_task_restarts_total{service=Flaky,task=crash}"),
        Some(2)
    );
    assert_eq!(
        store.gauge("lifecycle_task_restart_attempt{service=Flaky,task=crash}"),
        Some(2.0)
    );
    assert_eq!(
        store.gauge("lifecycle_task_backoff_seconds{service=Flaky,task=crash}"),
        Some(1.0)
    );
    assert_eq!(
        store.counter("lifecycle_service_escalations_total{service=Flaky,task=crash}"),
        Some(1)
    );
    assert_eq!(
        store.counter("lifecycle_task_failures_total{service=Flaky,task=steady}"),
        None,
        "the steady task never failed"
    );
    assert_eq!(
        store.gauge("lifecycle_service_state{service=Flaky}"),
        Some(5.0)
    );
    assert_eq!(
        store.gauge("lifecycle_service_state{service=Db}"),
        Some(2.0)
    );

    let report = running.stop().await;
    assert_eq!(
        store.gauge("lifecycle_service_state{service=Db}"),
        Some(4.0)
    );
    let stops = store.samples("lifecycle_service_stop_duration_seconds{service=Db}");
    assert_eq!(stops, [0.2]);
    assert_eq!(
        report.service("Db").map(|r| r.duration),
        Some(Duration::from_millis(200)),
        "same figure as the stop report"
    );
}
