//! Operations: integrations with what runs and watches a service process, each behind a
//! cargo feature so the default build stays lean.
//!
//! | feature   | module                | what it gives                                                  |
//! |-----------|-----------------------|----------------------------------------------------------------|
//! | `axum`    | [`probes`](self)      | `/livez`, `/readyz`, `/startupz` for Kubernetes, JSON bodies     |
//! | `systemd` | `systemd`             | `Type=notify`: `READY=1`, `STOPPING=1`, `RELOADING=1`, `STATUS=`, watchdog |
//! | `metrics` | `metrics`             | state gauges, start/stop histograms, task counters on the `metrics` facade |
//!
//! All three read a [`RegistryHandle`](crate::RegistryHandle) and the event stream; none
//! changes how the registry runs.
//!
//! The three probe verdicts follow the Kubernetes conventions and are shared by every
//! integration (systemd's watchdog pings only while [liveness](Verdict::live) holds):
//!
//! - **startup**: start-up finished: every service left New and Starting.
//! - **readiness**: every service Running and healthy, and the registry is not draining.
//! - **liveness**: no service is Failed.

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod probes;
#[cfg(feature = "systemd")]
#[cfg_attr(docsrs, doc(cfg(feature = "systemd")))]
pub mod systemd;

use crate::{RegistryHandle, State};

/// Whether the registry is draining: a stop was requested, so readiness must be off.
// lead: replace with RegistryHandle::is_draining() at merge
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn is_draining(handle: &RegistryHandle) -> bool {
    handle.is_stopped()
}

/// The cheap verdicts, from states alone (no health check runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(any(feature = "axum", feature = "systemd")), allow(dead_code))]
pub(crate) struct Verdict {
    /// Start-up finished: no service is New or Starting (and there is at least one, or
    /// the registry is empty).
    pub(crate) started: bool,
    /// No service Failed.
    pub(crate) live: bool,
    /// Every service Running (health checks not included).
    pub(crate) all_running: bool,
}

#[cfg_attr(not(any(feature = "axum", feature = "systemd")), allow(dead_code))]
impl Verdict {
    pub(crate) fn of(states: &[(String, State)]) -> Self {
        Self {
            started: states
                .iter()
                .all(|(_, s)| !matches!(s, State::New | State::Starting)),
            live: states.iter().all(|(_, s)| *s != State::Failed),
            all_running: states.iter().all(|(_, s)| *s == State::Running),
        }
    }
}
