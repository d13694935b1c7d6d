//! What start and stop report: durations, the start-up critical path, aborted tasks, errors.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::{ServiceError, State};

/// How one service stopped. Shared by every caller of its stop.
///
/// ```
/// # use lifecycle_core::StopReport;
/// fn print(report: &StopReport) {
///     if !report.tasks_aborted.is_empty() {
///         eprintln!("{} aborted {:?} after {:?}", report.service, report.tasks_aborted, report.duration);
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StopReport {
    /// The service's name.
    pub service: Cow<'static, str>,
    /// Its final state: Stopped, or Failed if it failed.
    pub state: State,
    /// From cancellation to the end of `on_stop`.
    pub duration: Duration,
    /// Tasks that did not finish within `stop_timeout` and were aborted.
    pub tasks_aborted: Vec<&'static str>,
    /// Aborted tasks still running when the report was made (mid-poll, or never yielding).
    pub tasks_still_running: Vec<&'static str>,
    /// Blocking tasks still running past the deadline (they cannot be aborted).
    pub blocking_still_running: Vec<&'static str>,
    /// Child tasks (spawned through `Shutdown::spawn`) aborted at the deadline.
    pub children_aborted: usize,
    /// In this order: the failure that made the service Failed (phase `Task`, its source a
    /// [`TaskError`](crate::TaskError)), tasks that failed or panicked while it stopped (phase
    /// `Stop`, source a `TaskError`), and its `on_stop` error, timeout, panic or skip.
    /// The original error values are kept: see [`find_source`](crate::find_source).
    pub errors: Vec<Arc<ServiceError>>,
    /// Failures of named children (`Shutdown::spawn_child`) since the service's last stop, each
    /// with its path and original error, whatever their policy.
    pub child_failures: Vec<crate::task::ChildFailure>,
}

impl StopReport {
    /// Stopped with no abort and no error.
    pub fn is_clean(&self) -> bool {
        self.state == State::Stopped
            && self.tasks_aborted.is_empty()
            && self.tasks_still_running.is_empty()
            && self.blocking_still_running.is_empty()
            && self.children_aborted == 0
            && self.errors.is_empty()
            && self.child_failures.is_empty()
    }
}

/// How the whole registry stopped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegistryStopReport {
    /// Wall time of the whole stop (bounded by `shutdown_timeout` plus a few ms of abort grace).
    pub duration: Duration,
    /// Each stopped service, in stop order.
    pub services: Vec<StopReport>,
    /// The failure that shut the registry down, if any.
    pub escalated: Option<Arc<ServiceError>>,
    /// The registry was aborted (guard dropped, second signal): hooks skipped, no graceful stop.
    pub aborted: bool,
    /// Why the stop was requested, when the requester said so
    /// ([`Shutdown::request_stop_because`](crate::Shutdown::request_stop_because)).
    pub reason: Option<crate::StopReason>,
}

impl RegistryStopReport {
    /// Every service stopped cleanly and nothing escalated.
    ///
    /// ```
    /// # async fn f(running: lifecycle_core::Running<lifecycle_core::DynRegistry>) {
    /// let report = running.stop().await;
    /// assert!(report.is_clean(), "{}", report.summary());
    /// # }
    /// ```
    pub fn is_clean(&self) -> bool {
        !self.aborted && self.escalated.is_none() && self.services.iter().all(|s| s.is_clean())
    }

    pub(crate) fn aborted() -> Self {
        Self {
            duration: Duration::ZERO,
            services: Vec::new(),
            escalated: None,
            aborted: true,
            reason: None,
        }
    }

    /// The report of one service, by name.
    pub fn service(&self, name: &str) -> Option<&StopReport> {
        self.services.iter().find(|s| s.service == name)
    }

    /// Service names in the order they stopped.
    pub fn stop_order(&self) -> Vec<&str> {
        self.services.iter().map(|s| &*s.service).collect()
    }

    /// One line per problem, for logs and errors.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if self.aborted {
            out.push_str("aborted: stop hooks skipped; ");
        }
        if let Some(e) = &self.escalated {
            let _ = write!(out, "{e}; ");
        }
        for s in &self.services {
            if !s.tasks_aborted.is_empty() {
                let _ = write!(out, "{}: aborted {:?}; ", s.service, s.tasks_aborted);
            }
            if !s.blocking_still_running.is_empty() {
                let _ = write!(
                    out,
                    "{}: blocking still running {:?}; ",
                    s.service, s.blocking_still_running
                );
            }
            // The failure that shut the registry down is already first in the line.
            let escalated =
                |e: &Arc<ServiceError>| self.escalated.as_ref().is_some_and(|x| Arc::ptr_eq(x, e));
            for e in s.errors.iter().filter(|e| !escalated(e)) {
                let _ = write!(out, "{e}; ");
            }
            for f in &s.child_failures {
                let _ = write!(out, "{f}: {}; ", f.error());
            }
        }
        if out.is_empty() {
            out.push_str("clean");
        }
        out.trim_end_matches("; ").to_owned()
    }
}

/// One service's start timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTiming {
    /// The service's name.
    pub service: Cow<'static, str>,
    /// When its start began, from the beginning of registry start-up.
    pub began_after: Duration,
    /// How long its `on_start` took.
    pub duration: Duration,
}

/// Start-up timings and the critical path (the chain of dependencies that bounded start-up).
///
/// ```
/// # async fn f(running: lifecycle_core::Running<lifecycle_core::DynRegistry>) {
/// let startup = running.startup_report();
/// println!("started in {:?}; critical path {}", startup.total, startup.critical_path.join(" -> "));
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartupReport {
    /// Whole start-up.
    pub total: Duration,
    /// Each service, in the order it became Running.
    pub services: Vec<ServiceTiming>,
    /// Service names from the first started to the last finished, each the latest-finishing
    /// dependency of the next.
    pub critical_path: Vec<String>,
}
