//! Per-task status: what a background task is doing now, its restarts and its last error.
//! Kept off the hot path: a healthy task never touches it (no allocation until its first
//! failure or its end).

use std::sync::Arc;

use tokio::time::Instant;

/// What a background task is doing.
///
/// ```
/// use lifecycle_core::task::TaskState;
/// assert!(TaskState::Running.is_alive());
/// assert!(!TaskState::Finished.is_alive());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Running, or waiting for its next periodic run.
    Running,
    /// Waiting in a restart backoff after a failed run, until this (virtual-time) instant.
    Backoff {
        /// When the next run begins.
        until: Instant,
    },
    /// Returned and not restarted, or stopped with its service (aborted included).
    Finished,
    /// Failed past its restart policy (its service escalated), or failed while stopping.
    Failed,
}

impl TaskState {
    /// Running or in backoff.
    pub fn is_alive(self) -> bool {
        matches!(self, TaskState::Running | TaskState::Backoff { .. })
    }
}

/// One background task's status, as [`RegistryHandle::tasks`](crate::RegistryHandle::tasks)
/// and the health report show it. Counts are for the service's current incarnation.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) -> Result<(), lifecycle_core::AdminError> {
/// for task in handle.tasks("Listener")? {
///     println!("{}: {:?}, {} restarts, last error {:?}", task.name, task.state, task.restarts,
///              task.last_error.as_ref().map(|e| e.to_string()));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskStatus {
    /// The task's name.
    pub name: &'static str,
    /// What it is doing.
    pub state: TaskState,
    /// How often it was restarted (or its periodic run delayed) after a failure.
    pub restarts: u32,
    /// Its last failure: the task's own error value (or [`Panicked`](crate::Panicked)); for
    /// a failure past its policy, the service's failure (whose source is the task's error).
    pub last_error: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Errors compare by identity (the same failure), the rest by value.
impl PartialEq for TaskStatus {
    fn eq(&self, other: &Self) -> bool {
        let same_error = match (&self.last_error, &other.last_error) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.name == other.name
            && self.state == other.state
            && self.restarts == other.restarts
            && same_error
    }
}

impl Eq for TaskStatus {}

/// The mutable part, boxed in the task's entry on its first change.
#[derive(Debug, Clone)]
pub(crate) struct TaskRecord {
    pub(crate) state: TaskState,
    pub(crate) restarts: u32,
    pub(crate) last_error: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Default for TaskRecord {
    fn default() -> Self {
        Self {
            state: TaskState::Running,
            restarts: 0,
            last_error: None,
        }
    }
}

impl TaskRecord {
    /// The status as read now: a task whose future is gone is Finished whatever it last said.
    pub(crate) fn status(
        record: Option<&TaskRecord>,
        name: &'static str,
        finished: bool,
    ) -> TaskStatus {
        let record = record.cloned().unwrap_or_default();
        let state = if finished && record.state.is_alive() {
            TaskState::Finished
        } else {
            record.state
        };
        TaskStatus {
            name,
            state,
            restarts: record.restarts,
            last_error: record.last_error,
        }
    }
}
