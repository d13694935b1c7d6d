//! Operations: integrations with what runs and watches a service process, each behind a
//! cargo feature so the default build stays lean.
//!
//! | feature   | module                | what it gives                                                  |
//! |-----------|-----------------------|----------------------------------------------------------------|
//! | `axum`    | `probes`              | `/livez`, `/readyz`, `/startupz` for Kubernetes, JSON bodies     |
//! | `systemd` | `systemd`             | `Type=notify`: `READY=1`, `STOPPING=1`, `RELOADING=1`, `STATUS=`, watchdog |
//! | `metrics` | `metrics`             | state gauges, start/stop histograms, task counters on the `metrics` facade |
//!
//! All three read a [registry handle](crate::RegistryHandle) and the event stream; none
//! changes how the registry runs. Without a feature this module holds only the deployment
//! figures below ([`KUBERNETES_DRAIN_DELAY`], [`termination_grace_period`]), which
//! `examples/deploy/` is checked against.
//!
//! The three probe verdicts follow the Kubernetes conventions and are shared by every
//! integration (systemd's watchdog pings only while liveness holds):
//!
//! - **startup**: start-up finished ([`RegistryHandle::is_started`](crate::RegistryHandle::is_started)).
//! - **readiness**: every service Running and healthy, and no stop requested (so not
//!   draining: readiness turns off the moment a stop is requested).
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

use std::time::Duration;

#[cfg(feature = "axum")]
use crate::RegistryHandle;
use crate::RegistryOptions;
#[cfg(any(feature = "axum", feature = "systemd"))]
use crate::State;

/// The drain delay to use behind a Kubernetes Service: 5 s.
///
/// After SIGTERM, Kubernetes keeps routing new connections to the pod until the endpoint
/// removal has reached every node (kube-proxy, ingress controllers): typically 1 to 3 s,
/// plus one readiness period (1 s in `examples/deploy/`). Turning readiness off at once
/// and stopping only after this delay loses no request. The flagship's manifests use it.
///
/// ```
/// assert_eq!(lifecycle_core::ops::KUBERNETES_DRAIN_DELAY.as_secs(), 5);
/// ```
pub const KUBERNETES_DRAIN_DELAY: Duration = Duration::from_secs(5);

/// What the process needs after the registry stopped: the runtime's shutdown, flushing
/// logs and exiting. 5 s.
///
/// ```
/// assert!(lifecycle_core::ops::EXIT_MARGIN.as_secs() >= 1);
/// ```
pub const EXIT_MARGIN: Duration = Duration::from_secs(5);

/// The grace period to give the process (Kubernetes' `terminationGracePeriodSeconds`,
/// systemd's `TimeoutStopSec=`): `drain_delay + shutdown_timeout + EXIT_MARGIN`, rounded
/// up to whole seconds, saturating. It does not assume the drain is counted inside
/// `shutdown_timeout`, so it holds either way.
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::RegistryOptions;
/// use lifecycle_core::ops::{KUBERNETES_DRAIN_DELAY, termination_grace_period};
/// // Default shutdown_timeout (25 s) + 5 s drain + 5 s to exit.
/// let grace = termination_grace_period(KUBERNETES_DRAIN_DELAY, &RegistryOptions::default());
/// assert_eq!(grace, Duration::from_secs(35));
/// ```
pub fn termination_grace_period(drain_delay: Duration, options: &RegistryOptions) -> Duration {
    let total = drain_delay
        .saturating_add(options.get_shutdown_timeout())
        .saturating_add(EXIT_MARGIN);
    let whole = total
        .as_secs()
        .saturating_add(u64::from(total.subsec_nanos() > 0));
    Duration::from_secs(whole)
}

/// Whether a stop was requested (draining, stopping or stopped): readiness is off.
#[cfg(feature = "axum")]
pub(crate) fn is_draining(handle: &RegistryHandle) -> bool {
    handle.is_stopping()
}

/// The cheap verdicts, from states alone (no health check runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(any(feature = "axum", feature = "systemd"))]
pub(crate) struct Verdict {
    /// Start-up finished: no service is New or Starting (and there is at least one, or
    /// the registry is empty).
    pub(crate) started: bool,
    /// No service Failed.
    pub(crate) live: bool,
    /// Every service Running (health checks not included).
    pub(crate) all_running: bool,
}

#[cfg(any(feature = "axum", feature = "systemd"))]
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
