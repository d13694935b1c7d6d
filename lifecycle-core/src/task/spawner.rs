//! What a service's `spawn_tasks` receives: spawns each background task once, tracked.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tracing::Instrument;

use super::supervisor::{TaskParts, run_async};
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
    /// The first spec that failed validation: the service's start fails with it.
    invalid: Option<crate::error::InvalidTaskSpec>,
}

impl<'a> TaskSpawner<'a> {
    pub(crate) fn new(engine: &'a Arc<Engine>, service: ServiceIndex) -> Self {
        Self {
            engine,
            service,
            next_task: 0,
            invalid: None,
        }
    }

    pub(crate) fn into_invalid(self) -> Option<crate::error::InvalidTaskSpec> {
        self.invalid
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
        self.spawn_entry(spec, make, None);
    }

    fn spawn_entry<F, Fut>(&mut self, spec: TaskSpec, make: F, blocking: Option<Arc<AtomicBool>>)
    where
        F: FnMut(Shutdown) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskOutcome,
    {
        if let Err(invalid) = spec.validate() {
            self.invalid.get_or_insert(invalid);
            return;
        }
        let task = self.next_index();
        let node = self.engine.node(self.service);
        let span = tracing::info_span!("task", service = %node.name, task = %spec.name);
        let live = self.engine.task_began(self.service);
        let future = run_async(TaskParts {
            shutdown: self.shutdown(),
            make,
            task,
            _tracked: node.tracker.token(),
            _live: live,
        });
        // The entry (with the spec the task reads at its first poll and when a run fails) is
        // in place before the task can run: the lock is held across the spawn.
        let mut tasks = lock(&node.tasks);
        // One erased future type for every task: tokio's task machinery is instantiated once,
        // in this crate, instead of once per task in the user's crate (derived-100 builds in
        // 0.97x the time of its hand-written twin instead of 2.29x; BENCHMARKS.md). The box
        // holds the supervisor, so the task cell itself is smaller. Without a subscriber the
        // span is disabled: skip its wrapper.
        let erased: Pin<Box<dyn Future<Output = ()> + Send>> = if span.is_disabled() {
            Box::pin(future)
        } else {
            Box::pin(future.instrument(span))
        };
        let handle = tokio::spawn(erased);
        tasks.push(TaskEntry {
            spec,
            abort: handle.abort_handle(),
            blocking,
            record: None,
        });
    }

    /// Spawns a blocking task: each run goes to tokio's blocking pool, while its schedule,
    /// backoff and supervision stay in an async task (so no pool thread is held between runs,
    /// and paused-time tests keep auto-advancing). A run cannot be aborted: it should check
    /// [`Shutdown::is_cancelled`] and return; if it outlives the deadline it is reported.
    pub fn spawn_blocking<F, O>(&mut self, spec: TaskSpec, make: F)
    where
        F: FnMut(Shutdown) -> O + Send + 'static,
        O: TaskOutcome,
    {
        let in_run = Arc::new(AtomicBool::new(false));
        let tracker = self.engine.node(self.service).tracker.clone();
        let make = Arc::new(Mutex::new(make));
        let flag = Arc::clone(&in_run);
        let run_on_pool = move |shutdown: Shutdown| {
            let (make, flag, tracked) = (Arc::clone(&make), Arc::clone(&flag), tracker.token());
            async move {
                let run = tokio::task::spawn_blocking(move || {
                    let _tracked = tracked;
                    let _in_run = InRun::enter(&flag);
                    let mut make = lock(&make);
                    (*make)(shutdown).into_task_result()
                });
                match run.await {
                    Ok(result) => result,
                    Err(e) => match e.try_into_panic() {
                        // Re-raised here so the supervisor catches it like any panic.
                        Ok(payload) => std::panic::resume_unwind(payload),
                        Err(_) => Err("the blocking run was cancelled".into()),
                    },
                }
            }
        };
        self.spawn_entry(
            spec.cancel(super::Cancel::Cooperative),
            run_on_pool,
            Some(in_run),
        );
    }

    fn next_index(&mut self) -> u32 {
        let task = self.next_task;
        self.next_task += 1;
        task
    }
}

/// Marks a blocking run as in progress for as long as it lasts (a panic included).
struct InRun<'a>(&'a AtomicBool);

impl<'a> InRun<'a> {
    fn enter(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::Release);
        Self(flag)
    }
}

impl Drop for InRun<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
