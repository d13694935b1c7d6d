//! Error types returned by the registry. Runtime misuse is a typed error, never a panic.

use std::fmt;
use std::time::Duration;

/// The error type hooks and tasks are converted into.
///
/// Anything that is `Into<BoxError>` works: your own `std::error::Error` types,
/// `anyhow::Error`, `io::Error`, `String` and `&str`.
///
/// ```
/// use lifecycle_core::BoxError;
/// let e: BoxError = "disk full".into();
/// assert_eq!(e.to_string(), "disk full");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a registry could not be built: found before anything starts.
///
/// ```
/// use lifecycle_core::BuildError;
/// let e = BuildError::Cycle { path: vec!["A".into(), "B".into(), "A".into()] };
/// assert_eq!(e.to_string(), "dependency cycle: A -> B -> A");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Services depend on each other in a circle; `path` starts and ends with the same service.
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle {
        /// The services on the cycle, first one repeated at the end.
        path: Vec<String>,
    },
    /// A service depends on a type nothing in the registry provides.
    #[error(
        "`{service}` depends on `{dependency}`, which no service or value in the registry provides"
    )]
    MissingDependency {
        /// The service that declared the dependency.
        service: String,
        /// The type it depends on.
        dependency: String,
    },
    /// A service depends on a type that several registered services provide.
    #[error(
        "`{service}` depends on `{dependency}`, which {count} services provide; add an explicit edge with `depends_on`"
    )]
    AmbiguousDependency {
        /// The service that declared the dependency.
        service: String,
        /// The type it depends on.
        dependency: String,
        /// How many services provide it.
        count: usize,
    },
    /// An instance the builder must be given was not given.
    #[error(
        "`{field}` of `{registry}` has no instance: pass one with `.{field}(…)` on the builder"
    )]
    MissingInstance {
        /// The registry type.
        registry: &'static str,
        /// The field without an instance.
        field: &'static str,
    },
    /// An edge names a service id from another registry.
    #[error("service id {id} does not belong to this registry")]
    UnknownService {
        /// The id given.
        id: usize,
    },
}

/// In which phase a service failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Its `on_start` hook returned an error.
    Start,
    /// Its `on_start` hook did not finish within `start_timeout`.
    StartTimeout,
    /// Its `on_start` hook panicked.
    StartPanic,
    /// Start-up was cancelled (signal or `stop` during start).
    Cancelled,
    /// A background task failed past its restart policy.
    Task,
    /// Its `on_stop` hook failed, timed out or panicked.
    Stop,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Start => "start",
            Phase::StartTimeout => "start (timed out)",
            Phase::StartPanic => "start (panicked)",
            Phase::Cancelled => "start (cancelled)",
            Phase::Task => "background task",
            Phase::Stop => "stop",
        })
    }
}

/// A service failed: which one, in which phase, and why (the cause chain is kept in `source`).
///
/// ```
/// use lifecycle_core::{Phase, ServiceError};
/// let e = ServiceError::new("Database", Phase::Start, "cannot open data/app.db".into());
/// assert_eq!(e.to_string(), "service `Database` failed in start: cannot open data/app.db");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("service `{service}` failed in {phase}: {source}")]
pub struct ServiceError {
    /// The service's name.
    pub service: String,
    /// The phase it failed in.
    pub phase: Phase,
    /// The cause.
    #[source]
    pub source: BoxError,
}

impl ServiceError {
    /// Builds an error for `service` in `phase`.
    pub fn new(service: impl Into<String>, phase: Phase, source: BoxError) -> Self {
        Self {
            service: service.into(),
            phase,
            source,
        }
    }
}

/// Start-up failed and was rolled back.
///
/// ```
/// # use lifecycle_core::{Phase, ServiceError, StartError};
/// let e = StartError { error: ServiceError::new("Db", Phase::StartTimeout, "after 30s".into()), rollback: vec![] };
/// assert!(e.to_string().contains("`Db`"));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("start-up failed, rolled back: {error}")]
pub struct StartError {
    /// The first failure: service, phase and cause.
    #[source]
    pub error: ServiceError,
    /// Stop reports of the services that had started and were stopped again, in stop order.
    pub rollback: Vec<crate::StopReport>,
}

/// A timeout, used as the cause of `StartTimeout` and hook timeouts.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("timed out after {0:?}")]
pub struct TimedOut(pub Duration);

/// A panic caught in a hook or task, as an error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("panicked: {0}")]
pub struct Panicked(pub String);

impl Panicked {
    pub(crate) fn from_payload(payload: &(dyn std::any::Any + Send)) -> Self {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        Panicked(msg)
    }
}

/// Why `run_until_signal` or `wait` returned an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Start-up failed (and was rolled back).
    #[error(transparent)]
    Start(#[from] StartError),
    /// A service failed past its restart policy and the registry was shut down.
    #[error("registry shut down because {0}")]
    Escalated(ServiceError),
    /// A second signal arrived during graceful stop: everything was aborted, hooks skipped.
    #[error("second signal during shutdown: tasks aborted, stop hooks skipped")]
    ForcedShutdown,
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
}
