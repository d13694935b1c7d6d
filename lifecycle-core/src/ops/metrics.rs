//! Metrics on the [`metrics`] facade, so any exporter works (Prometheus, StatsD, ...).
//!
//! [`observe`] adds a synchronous, lossless observer to [`RegistryOptions`]; it records:
//!
//! | name                                        | kind      | labels            | what |
//! |---------------------------------------------|-----------|-------------------|------|
//! | `lifecycle_service_state`                   | gauge     | `service`         | the state as a number: 0 New, 1 Starting, 2 Running, 3 Stopping, 4 Stopped, 5 Failed |
//! | `lifecycle_service_start_duration_seconds`  | histogram | `service`         | Starting → Running: its own `on_start` |
//! | `lifecycle_service_stop_duration_seconds`   | histogram | `service`         | Stopping → Stopped or Failed |
//! | `lifecycle_task_failures_total`             | counter   | `service`, `task` | runs that returned `Err` or panicked |
//! | `lifecycle_task_restarts_total`             | counter   | `service`, `task` | restarts (or delayed periodic runs) after a failure |
//! | `lifecycle_task_restart_attempt`            | gauge     | `service`, `task` | the restart number within the intensity window: the backoff grows with it |
//! | `lifecycle_registry_startup_duration_seconds` | histogram | —               | whole start-up, from [`record_startup`] |
//!
//! `task` is the task's index within its service (registration order).
//!
//! Durations are measured on tokio's clock, so they follow virtual time in tests.
//!
//! ```
//! use std::sync::Arc;
//! use lifecycle_core::{DynRegistry, RegistryOptions, Service};
//! use lifecycle_core::ops::metrics;
//!
//! struct Db;
//! impl Service for Db { const NAME: &'static str = "Db"; }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Install an exporter first (e.g. metrics-exporter-prometheus); without one, nothing is kept.
//! let mut registry = DynRegistry::with_options(metrics::observe(RegistryOptions::default()));
//! registry.add(Arc::new(Db));
//! let running = registry.build()?.start().await?;
//! metrics::record_startup(&running.startup_report());
//! running.stop().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, PoisonError};

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use tokio::time::Instant;

use crate::events::ServiceIndex;
use crate::{Event, RegistryOptions, StartupReport, State};

/// The service-state gauge's name.
pub const SERVICE_STATE: &str = "lifecycle_service_state";
/// The start-duration histogram's name.
pub const SERVICE_START_DURATION: &str = "lifecycle_service_start_duration_seconds";
/// The stop-duration histogram's name.
pub const SERVICE_STOP_DURATION: &str = "lifecycle_service_stop_duration_seconds";
/// The task-failure counter's name.
pub const TASK_FAILURES: &str = "lifecycle_task_failures_total";
/// The task-restart counter's name.
pub const TASK_RESTARTS: &str = "lifecycle_task_restarts_total";
/// The restart-attempt gauge's name.
pub const TASK_RESTART_ATTEMPT: &str = "lifecycle_task_restart_attempt";
/// The registry start-up histogram's name.
pub const REGISTRY_STARTUP_DURATION: &str = "lifecycle_registry_startup_duration_seconds";

fn describe() {
    static DESCRIBED: Once = Once::new();
    DESCRIBED.call_once(|| {
        describe_gauge!(
            SERVICE_STATE,
            "Service state: 0 New, 1 Starting, 2 Running, 3 Stopping, 4 Stopped, 5 Failed"
        );
        describe_histogram!(
            SERVICE_START_DURATION,
            Unit::Seconds,
            "Time from Starting to Running (the service's on_start)"
        );
        describe_histogram!(
            SERVICE_STOP_DURATION,
            Unit::Seconds,
            "Time from Stopping to Stopped or Failed"
        );
        describe_counter!(
            TASK_FAILURES,
            "Task runs that returned an error or panicked"
        );
        describe_counter!(TASK_RESTARTS, "Task restarts after a failure");
        describe_gauge!(
            TASK_RESTART_ATTEMPT,
            "Restart number within the intensity window of the task's last restart"
        );
        describe_histogram!(
            REGISTRY_STARTUP_DURATION,
            Unit::Seconds,
            "Whole registry start-up"
        );
    });
}

/// What the observer remembers: when each service entered Starting or Stopping.
#[derive(Default)]
struct Clock {
    since: Mutex<HashMap<ServiceIndex, Instant>>,
}

impl Clock {
    fn enter(&self, service: ServiceIndex) {
        self.since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(service, Instant::now());
    }

    fn leave(&self, service: ServiceIndex) -> Option<f64> {
        self.since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&service)
            .map(|t| t.elapsed().as_secs_f64())
    }
}

fn record(clock: &Clock, event: &Event, name: &str) {
    match *event {
        Event::State { service, from, to } => {
            gauge!(SERVICE_STATE, "service" => name.to_owned()).set(f64::from(to as u8));
            match (from, to) {
                (_, State::Starting | State::Stopping) => clock.enter(service),
                (State::Starting, State::Running) => {
                    if let Some(secs) = clock.leave(service) {
                        histogram!(SERVICE_START_DURATION, "service" => name.to_owned())
                            .record(secs);
                    }
                }
                (State::Stopping, State::Stopped | State::Failed) => {
                    if let Some(secs) = clock.leave(service) {
                        histogram!(SERVICE_STOP_DURATION, "service" => name.to_owned())
                            .record(secs);
                    }
                }
                _ => {
                    clock.leave(service);
                }
            }
        }
        Event::TaskFailed { task, .. } => {
            counter!(TASK_FAILURES, "service" => name.to_owned(), "task" => task.to_string())
                .increment(1);
        }
        Event::TaskRestarting { task, attempt, .. } => {
            let task = task.to_string();
            counter!(TASK_RESTARTS, "service" => name.to_owned(), "task" => task.clone())
                .increment(1);
            gauge!(TASK_RESTART_ATTEMPT, "service" => name.to_owned(), "task" => task)
                .set(f64::from(attempt));
        }
        // Later event kinds are not recorded (yet).
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// Adds the metrics observer to `options` (see the [module docs](self) for what it records).
/// Use one call per registry.
///
/// ```
/// use lifecycle_core::{DynRegistry, RegistryOptions};
/// let registry = DynRegistry::with_options(
///     lifecycle_core::ops::metrics::observe(RegistryOptions::default()),
/// );
/// # drop(registry);
/// ```
#[must_use]
pub fn observe(options: RegistryOptions) -> RegistryOptions {
    describe();
    let clock = Arc::new(Clock::default());
    options.observe(move |event, name| record(&clock, event, name))
}

/// Records the registry's start-up duration (`lifecycle_registry_startup_duration_seconds`).
/// Call it once after `start()` succeeded.
///
/// ```
/// # async fn f(running: lifecycle_core::RunningRegistry) {
/// lifecycle_core::ops::metrics::record_startup(&running.startup_report());
/// # }
/// ```
pub fn record_startup(report: &StartupReport) {
    describe();
    histogram!(REGISTRY_STARTUP_DURATION).record(report.total.as_secs_f64());
}
