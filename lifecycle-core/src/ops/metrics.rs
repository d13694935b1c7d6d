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
//! | `lifecycle_task_restart_attempt`            | gauge     | `service`, `task` | restarts within the task's intensity window |
//! | `lifecycle_task_backoff_seconds`            | gauge     | `service`, `task` | the delay before the latest restart |
//! | `lifecycle_service_escalations_total`       | counter   | `service`, `task` | failures past the restart policy |
//! | `lifecycle_registry_startup_duration_seconds` | histogram | —               | whole start-up, `StartupBegan` → `StartupFinished` |
//!
//! `task` is the task's name. Task runs are not counted: the engine reports failures, not
//! successful runs.
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
use crate::{Event, RegistryOptions, State};

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
/// The backoff gauge's name.
pub const TASK_BACKOFF: &str = "lifecycle_task_backoff_seconds";
/// The escalation counter's name.
pub const SERVICE_ESCALATIONS: &str = "lifecycle_service_escalations_total";
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
        describe_gauge!(
            TASK_BACKOFF,
            Unit::Seconds,
            "Delay before the task's latest restart"
        );
        describe_counter!(
            SERVICE_ESCALATIONS,
            "Task failures past the restart policy (the service failed)"
        );
        describe_histogram!(
            REGISTRY_STARTUP_DURATION,
            Unit::Seconds,
            "Whole registry start-up"
        );
    });
}

/// What the observer remembers: when each service entered Starting or Stopping, and when
/// start-up began.
#[derive(Default)]
struct Clock {
    since: Mutex<HashMap<ServiceIndex, Instant>>,
    startup: Mutex<Option<Instant>>,
}

impl Clock {
    fn startup_began(&self) {
        *self.startup.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    fn startup_finished(&self) -> Option<f64> {
        self.startup
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|t| t.elapsed().as_secs_f64())
    }

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
            counter!(TASK_FAILURES, "service" => name.to_owned(), "task" => task).increment(1);
        }
        Event::TaskRestarting {
            task,
            attempt,
            delay,
            ..
        } => {
            counter!(TASK_RESTARTS, "service" => name.to_owned(), "task" => task).increment(1);
            gauge!(TASK_RESTART_ATTEMPT, "service" => name.to_owned(), "task" => task)
                .set(f64::from(attempt));
            gauge!(TASK_BACKOFF, "service" => name.to_owned(), "task" => task)
                .set(delay.as_secs_f64());
        }
        Event::Escalated { task, .. } => {
            counter!(SERVICE_ESCALATIONS, "service" => name.to_owned(), "task" => task)
                .increment(1);
        }
        Event::StartupBegan => clock.startup_began(),
        Event::StartupFinished => {
            if let Some(secs) = clock.startup_finished() {
                histogram!(REGISTRY_STARTUP_DURATION).record(secs);
            }
        }
        // The other registry phases (rolling back, draining, stopping, stopped) show in the
        // services' state gauges.
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
