//! What a service's `spawn_tasks` receives: spawns each background task once, tracked.

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use super::supervisor::{run_async, run_blocking};
use super::{Shutdown, TaskOutcome, TaskSpec};
use crate::engine::{Engine, TaskEntry, lock};
use crate::events::ServiceIndex;

/// Spawns a service's background tasks. Each task is spawned once; restarts, backoff and
/// periodic runs happen inside it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use lifecycle_core::{Service, Shutdown, TaskSpawner, TaskSpec};
///
/// struct Poller;
/// impl Poller {
///     async fn poll(&self) -> std::io::Result<()> { Ok(()) }
/// }
/// impl Service for Poller {
///     const NAME: &'static str = "Poller";
///     fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
///         let this = Arc::clone(self);
///         tasks.spawn(TaskSpec::periodic("poll", Duration::from_secs(30)), move |_: Shutdown| {
///             let this = Arc::clone(&this);
///             async move { this.poll().await }
///         });
///     }
/// }
/// ```
pub struct TaskSpawner<'a> {
    engine: &'a Arc<Engine>,
    service: ServiceIndex,
    next_task: u32,
}

impl<'a> TaskSpawner<'a> {
    pub(crate) fn new(engine: &'a Arc<Engine>, service: ServiceIndex) -> Self {
        Self {
            engine,
            service,
            next_task: 0,
        }
    }

    /// The [`Shutdown`] handle of this service (for tasks you spawn yourself through it).
    pub fn shutdown(&self) -> Shutdown {
        Shutdown::new(Arc::clone(self.engine), self.service)
    }

    /// Spawns an async background task. `make` is called for every run (each periodic run,
    /// each restart) with the service's [`Shutdown`].
    pub fn spawn<F, Fut>(&mut self, spec: TaskSpec, make: F)
    where
        F: FnMut(Shutdown) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutcome,
    {
        let task = self.next_index();
        let node = self.engine.node(self.service);
        let span = tracing::info_span!("task", service = %node.name, task = %spec.name);
        let future = run_async(self.shutdown(), task, spec.schedule, spec.cancel, make);
        // The entry (with the spec the task reads when a run fails) is in place before the
        // task can run: the lock is held across the spawn.
        let mut tasks = lock(&node.tasks);
        // Without a subscriber the span is disabled: skip the wrapper (smaller task, no
        // enter/exit per poll).
        let handle = if span.is_disabled() {
            tokio::spawn(node.tracker.track_future(future))
        } else {
            tokio::spawn(node.tracker.track_future(future.instrument(span)))
        };
        tasks.push(TaskEntry {
            spec,
            abort: handle.abort_handle(),
            blocking: false,
        });
    }

    /// Spawns a blocking task on tokio's blocking pool. It cannot be aborted: it should check
    /// [`Shutdown::is_cancelled`] and return; if it outlives the deadline it is reported.
    pub fn spawn_blocking<F, O>(&mut self, spec: TaskSpec, make: F)
    where
        F: FnMut(Shutdown) -> O + Send + 'static,
        O: TaskOutcome,
    {
        let task = self.next_index();
        let node = self.engine.node(self.service);
        let shutdown = self.shutdown();
        let token = node.tracker.token();
        let schedule = spec.schedule;
        let mut tasks = lock(&node.tasks);
        let handle = tokio::task::spawn_blocking(move || {
            let _tracked = token;
            run_blocking(shutdown, task, schedule, make);
        });
        tasks.push(TaskEntry {
            spec,
            abort: handle.abort_handle(),
            blocking: true,
        });
    }

    fn next_index(&mut self) -> u32 {
        let task = self.next_task;
        self.next_task += 1;
        task
    }
}
