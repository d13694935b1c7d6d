//! Health: what a service says of itself, and the registry's aggregate (readiness, liveness).

use std::time::Duration;

use crate::State;

/// A service's own health.
///
/// ```
/// use lifecycle_core::Health;
/// assert!(Health::Healthy.is_healthy());
/// assert!(!Health::unhealthy("db unreachable").is_healthy());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// Working.
    Healthy,
    /// Working, but something is off (still counts as ready).
    Degraded(String),
    /// Not working: the registry is not ready.
    Unhealthy(String),
}

impl Health {
    /// `Unhealthy` with a reason.
    pub fn unhealthy(reason: impl Into<String>) -> Self {
        Health::Unhealthy(reason.into())
    }

    /// `Degraded` with a reason.
    pub fn degraded(reason: impl Into<String>) -> Self {
        Health::Degraded(reason.into())
    }

    /// Healthy or degraded.
    pub fn is_healthy(&self) -> bool {
        !matches!(self, Health::Unhealthy(_))
    }
}

/// Converts what a `#[health]` method returns into [`Health`]: `Health`, `bool`, or
/// `Result<(), E>` (an error is unhealthy, with its message).
///
/// ```
/// use lifecycle_core::{Health, IntoHealth};
/// assert_eq!(true.into_health(), Health::Healthy);
/// assert!(!Err::<(), _>("down").into_health().is_healthy());
/// ```
#[diagnostic::on_unimplemented(
    message = "a `#[health]` method must return `Health`, `bool` or `Result<(), E>`, not `{Self}`",
    label = "this return type cannot be turned into `Health`"
)]
pub trait IntoHealth {
    /// The conversion.
    fn into_health(self) -> Health;
}

impl IntoHealth for Health {
    fn into_health(self) -> Health {
        self
    }
}

impl IntoHealth for bool {
    fn into_health(self) -> Health {
        if self {
            Health::Healthy
        } else {
            Health::unhealthy("health check returned false")
        }
    }
}

#[diagnostic::do_not_recommend]
impl<E: Into<crate::BoxError>> IntoHealth for Result<(), E> {
    fn into_health(self) -> Health {
        match self {
            Ok(()) => Health::Healthy,
            Err(e) => Health::Unhealthy(e.into().to_string()),
        }
    }
}

/// One service in a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealth {
    /// The service's name.
    pub name: String,
    /// Its lifecycle state when checked.
    pub state: State,
    /// Its check's result (`Unhealthy` when it timed out or panicked; not run unless Running).
    pub health: Health,
}

/// The registry's aggregated health.
///
/// ```
/// use lifecycle_core::{Health, HealthReport, ServiceHealth, State};
/// let r = HealthReport::from_services(vec![ServiceHealth {
///     name: "Db".into(), state: State::Running, health: Health::Healthy }]);
/// assert!(r.ready && r.live);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// Readiness: every service Running and healthy.
    pub ready: bool,
    /// Liveness: no service Failed.
    pub live: bool,
    /// A stop was requested (lame-duck drain or stopping): not ready, whatever the services say.
    pub draining: bool,
    /// Each service, in registration order.
    pub services: Vec<ServiceHealth>,
}

impl HealthReport {
    /// Aggregates per-service results.
    pub fn from_services(services: Vec<ServiceHealth>) -> Self {
        let ready = services
            .iter()
            .all(|s| s.state == State::Running && s.health.is_healthy());
        let live = services.iter().all(|s| s.state != State::Failed);
        Self {
            ready,
            live,
            draining: false,
            services,
        }
    }
}

/// Default bound on one health check.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
