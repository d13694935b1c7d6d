//! Background tasks: their specification, the [`Shutdown`] handle they receive, the spawner a
//! service uses, and the supervision loop that runs inside each task.

mod policy;
mod shutdown;
mod spawner;
mod supervisor;

use std::time::Duration;

pub(crate) use policy::{Decision, Policy};
pub use shutdown::Shutdown;
pub use spawner::TaskSpawner;

use crate::BoxError;

/// When a task is restarted.
///
/// ```
/// use lifecycle_core::Restart;
/// assert_eq!("on_failure".parse::<Restart>(), Ok(Restart::OnFailure));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Never: a failure marks the service Failed and escalates.
    Never,
    /// After a failure (error or panic), with backoff, within the intensity limit.
    OnFailure,
    /// After a failure and after a normal return.
    Always,
}

impl std::str::FromStr for Restart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "never" => Ok(Restart::Never),
            "on_failure" => Ok(Restart::OnFailure),
            "always" => Ok(Restart::Always),
            other => Err(format!(
                "unknown restart policy `{other}`: expected never, on_failure or always"
            )),
        }
    }
}

/// How a task is stopped when its service is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// The task watches its [`Shutdown`] and returns by itself; it is aborted only at `stop_timeout`.
    Cooperative,
    /// The running future is dropped at once (for tasks that take no `Shutdown`).
    Drop,
}

/// What a task's normal end (it returned and is not restarted) means for the registry.
///
/// ```
/// use lifecycle_core::{OnExit, TaskSpec};
/// // A batch job: when the import is done, the program ends (gracefully).
/// let import = TaskSpec::new("import").on_exit(OnExit::Stop);
/// # let _ = import;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnExit {
    /// Nothing: the service keeps running without this task.
    #[default]
    Continue,
    /// Stop the registry gracefully, as if [`Shutdown::request_stop`] was called.
    Stop,
}

/// A duration stored in 8 bytes (a `Duration` takes 16): specs live in every service's node.
/// Saturates at about 584 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nanos(u64);

impl Nanos {
    pub(crate) fn new(d: Duration) -> Self {
        Self(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub(crate) fn get(self) -> Duration {
        Duration::from_nanos(self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schedule {
    Continuous,
    Every { period: Nanos, initial_delay: Nanos },
}

/// What a background task is and how it is supervised.
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::{Restart, TaskSpec};
///
/// let refresh = TaskSpec::periodic("refresh", Duration::from_secs(30))
///     .backoff(Duration::from_secs(1), Duration::from_secs(60));
/// let listen = TaskSpec::new("listen")
///     .restart(Restart::OnFailure)
///     .max_restarts(5, Duration::from_secs(60));
/// assert_eq!(listen.name(), "listen");
/// # let _ = refresh;
/// ```
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub(crate) name: &'static str,
    pub(crate) schedule: Schedule,
    pub(crate) restart: Restart,
    pub(crate) max_restarts: Option<u32>,
    pub(crate) within: Nanos,
    pub(crate) backoff: Nanos,
    pub(crate) max_backoff: Nanos,
    pub(crate) jitter: f32,
    pub(crate) cancel: Cancel,
    pub(crate) on_exit: OnExit,
}

impl TaskSpec {
    /// A long-running task, not restarted by default (`Restart::Never`), stopped cooperatively.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            schedule: Schedule::Continuous,
            restart: Restart::Never,
            max_restarts: None,
            within: Nanos::new(Duration::from_secs(60)),
            backoff: Nanos::new(Duration::from_secs(1)),
            max_backoff: Nanos::new(Duration::from_secs(60)),
            jitter: 0.1,
            cancel: Cancel::Cooperative,
            on_exit: OnExit::Continue,
        }
    }

    /// A task run every `period` (first run at once; missed ticks are delayed, not bursted).
    /// `Duration::MAX` means "never again after the first run"; zero is rejected at start.
    /// A failed run delays the next one by the backoff (`Restart::OnFailure` by default).
    pub fn periodic(name: &'static str, period: Duration) -> Self {
        Self {
            schedule: Schedule::Every {
                period: Nanos::new(period),
                initial_delay: Nanos(0),
            },
            restart: Restart::OnFailure,
            ..Self::new(name)
        }
    }

    /// The task's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Rejects what the derive rejects at compile time: a zero `within` window for
    /// `max_restarts`, and a zero period. Checked when the service starts: its start fails.
    pub(crate) fn validate(&self) -> Result<(), crate::error::InvalidTaskSpec> {
        let problem = if self.max_restarts.is_some() && self.within.get().is_zero() {
            Some("`max_restarts` needs a non-zero `within` window")
        } else if matches!(self.schedule, Schedule::Every { period, .. } if period.get().is_zero())
        {
            Some("a periodic task needs a non-zero period")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(crate::error::InvalidTaskSpec {
                task: self.name,
                problem,
            }),
            None => Ok(()),
        }
    }

    /// Delays a periodic task's first run. No effect on long-running tasks.
    #[must_use]
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        if let Schedule::Every { initial_delay, .. } = &mut self.schedule {
            *initial_delay = Nanos::new(delay);
        }
        self
    }

    /// The restart policy.
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Intensity limit: more than `max` restarts within `within` marks the service Failed.
    #[must_use]
    pub fn max_restarts(mut self, max: u32, within: Duration) -> Self {
        self.max_restarts = Some(max);
        self.within = Nanos::new(within);
        self
    }

    /// Exponential backoff from `base`, doubling per consecutive failure, capped at `max`.
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = Nanos::new(base);
        self.max_backoff = Nanos::new(max.max(base));
        self
    }

    /// Jitter as a fraction in `0.0..=1.0`: each delay is shortened by up to this much, at
    /// random (seeded by the registry, so tests are repeatable). Default 0.1.
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0) as f32
        } else {
            0.0
        };
        self
    }

    /// What the task's normal end means: with [`OnExit::Stop`], the registry stops gracefully
    /// when this task returns `Ok` and is not restarted (a program that ends when its work is
    /// done). A failure is not a normal end: the restart policy and escalation apply.
    #[must_use]
    pub fn on_exit(mut self, on_exit: OnExit) -> Self {
        self.on_exit = on_exit;
        self
    }

    /// How the task is stopped: cooperatively (default) or by dropping its future.
    #[must_use]
    pub fn cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }
}

/// What a task run may return: `()` or `Result<(), E>` with `E: Into<BoxError>`
/// (`anyhow::Result<()>` and `io::Result<()>` included).
///
/// ```
/// use lifecycle_core::TaskOutcome;
/// assert!(().into_task_result().is_ok());
/// assert!(Err::<(), _>(std::io::Error::other("x")).into_task_result().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "a background task must return `()` or `Result<(), E>` where `E: Into<BoxError>`, not `{Self}`",
    label = "this return type is not a task outcome",
    note = "`anyhow::Result<()>`, `std::io::Result<()>` and `Result<(), YourError>` all work"
)]
pub trait TaskOutcome {
    /// The conversion.
    fn into_task_result(self) -> Result<(), BoxError>;
}

impl TaskOutcome for () {
    fn into_task_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

// Not recommended in errors, so a bad error type gets the trait's own message.
#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> TaskOutcome for Result<(), E> {
    fn into_task_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}
