//! Error types returned by the registry. Runtime misuse is a typed error, never a panic.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::RegistryStopReport;

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
    /// Two services were registered under the same name: reports could not tell them apart.
    #[error("two services are named `{name}`: give one another name (`add_named`)")]
    DuplicateName {
        /// The name registered twice.
        name: String,
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
/// `Display` names the first failure; the alternate form (`{:#}`) also lists every error of
/// the rollback, which [`rollback_errors`](Self::rollback_errors) returns as values.
///
/// ```
/// # use lifecycle_core::{Phase, ServiceError, StartError};
/// let e = StartError {
///     error: std::sync::Arc::new(ServiceError::new("Db", Phase::StartTimeout, "after 30s".into())),
///     rollback: vec![],
/// };
/// assert!(e.to_string().contains("`Db`"));
/// assert_eq!(e.rollback_errors().count(), 0);
/// ```
#[derive(Debug, thiserror::Error)]
pub struct StartError {
    /// The first failure: service, phase and cause (shared with the failed service's report).
    #[source]
    pub error: Arc<ServiceError>,
    /// Stop reports of the services that had started and were stopped again, in stop order.
    pub rollback: Vec<Arc<crate::StopReport>>,
}

impl StartError {
    /// Every error met while rolling back (failed `on_stop` hooks, tasks that failed during
    /// the rollback), in stop order.
    pub fn rollback_errors(&self) -> impl Iterator<Item = &Arc<ServiceError>> {
        self.rollback.iter().flat_map(|r| r.errors.iter())
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "start-up failed, rolled back: {}", self.error)?;
        if f.alternate() {
            for e in self.rollback_errors() {
                write!(f, "; during rollback: {e}")?;
            }
        }
        Ok(())
    }
}

/// A background task failed: which task, and its own error (or [`Panicked`]) as the source.
///
/// ```
/// use std::error::Error as _;
/// use lifecycle_core::TaskError;
/// let e = TaskError { task: "refresh", source: std::io::Error::other("disk full").into() };
/// assert_eq!(e.to_string(), "task `refresh`: disk full");
/// assert!(e.source().unwrap().downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("task `{task}`: {source}")]
pub struct TaskError {
    /// The task's name.
    pub task: &'static str,
    /// What the task returned, or [`Panicked`].
    #[source]
    pub source: BoxError,
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

/// A misconfigured [`TaskSpec`](crate::TaskSpec), found when its service starts (its start
/// fails with this as the cause). The derive rejects the same values at compile time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("task `{task}`: {problem}")]
pub struct InvalidTaskSpec {
    /// The task's name.
    pub task: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

/// Why a registry's run (`run_until`, `run_until_signal`, `wait`) ended in an error.
///
/// The user's own error value stays reachable through [`source`](std::error::Error::source):
///
/// ```
/// # use std::sync::Arc;
/// use lifecycle_core::{find_source, RunError};
/// #[derive(Debug, thiserror::Error)]
/// #[error("disk full")]
/// struct DiskFull;
/// fn exit_code(outcome: &Result<Arc<lifecycle_core::RegistryStopReport>, RunError>) -> i32 {
///     match outcome {
///         Ok(_) => 0,
///         Err(e) if find_source::<DiskFull>(e).is_some() => 75,
///         Err(_) => 1,
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Start-up failed (and was rolled back).
    #[error(transparent)]
    Start(#[from] StartError),
    /// A service failed past its restart policy and the registry was shut down.
    #[error("registry shut down because {error}")]
    Escalated {
        /// The failure that shut the registry down (its source is the task's own error).
        #[source]
        error: Arc<ServiceError>,
        /// How the registry stopped afterwards.
        report: Arc<RegistryStopReport>,
    },
    /// The registry stopped, but not cleanly: a task was aborted at its deadline, a hook
    /// failed, or a task failed during the stop. The report says what.
    #[error("registry stopped, not cleanly: {}", .0.summary())]
    Unclean(Arc<RegistryStopReport>),
    /// A second signal arrived during graceful stop: everything was aborted, hooks skipped.
    #[error("second signal during shutdown: tasks aborted, stop hooks skipped")]
    ForcedShutdown,
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
}

impl RunError {
    /// The stop report, when the registry ran and stopped (escalated or unclean).
    pub fn report(&self) -> Option<&Arc<RegistryStopReport>> {
        match self {
            RunError::Escalated { report, .. } | RunError::Unclean(report) => Some(report),
            _ => None,
        }
    }
}

/// Walks `error`'s [`source`](std::error::Error::source) chain (itself included) and returns
/// the first error of type `E`: how to get your own error type back from a [`RunError`],
/// a [`StartError`] or a report's [`ServiceError`].
///
/// ```
/// use lifecycle_core::{find_source, Phase, ServiceError, TaskError};
/// let e = ServiceError::new("Db", Phase::Task, Box::new(TaskError {
///     task: "flush",
///     source: Box::new(std::io::Error::other("disk full")),
/// }));
/// assert_eq!(find_source::<TaskError>(&e).unwrap().task, "flush");
/// assert!(find_source::<std::io::Error>(&e).is_some());
/// ```
pub fn find_source<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    std::iter::successors(Some(error), |e| e.source()).find_map(|e| e.downcast_ref::<E>())
}
