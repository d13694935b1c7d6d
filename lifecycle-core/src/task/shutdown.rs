//! The handle a task uses to learn that its service is stopping, and to spawn tracked children.

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use super::children::{ChildNode, ChildTree};
use crate::engine::{Engine, lock};
use crate::events::ServiceIndex;

/// `Shutdown::task` of a handle that belongs to no task (a service-level one).
const NO_TASK: u32 = u32::MAX;

/// Tells a task its service is stopping; spawns child tasks its service's stop waits for.
///
/// A task receives its service's handle; a named child (see [`spawn_child`](Self::spawn_child))
/// receives its own, cancelled with its parent's or alone. Cheap to clone (one `Arc`).
/// Await it directly, or select on [`cancelled`](Self::cancelled):
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::Shutdown;
///
/// async fn accept_loop(shutdown: Shutdown) -> std::io::Result<()> {
///     loop {
///         tokio::select! {
///             () = shutdown.cancelled() => return Ok(()),
///             () = tokio::time::sleep(Duration::from_millis(10)) => {
///                 // a connection arrived: its work is a tracked child, aborted at the deadline
///                 shutdown.spawn(async { /* serve it */ });
///             }
///         }
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Shutdown(Scope);

/// Whose handle it is. An enum keeps a handle in 16 bytes: it is in every task's future.
#[derive(Clone)]
enum Scope {
    /// A service's; `task` is the task whose runs receive it, or `NO_TASK`; `token` is the
    /// service's token of this incarnation (a restarted service gets a fresh one).
    Service {
        engine: Arc<Engine>,
        service: ServiceIndex,
        task: u32,
        token: CancellationToken,
    },
    /// A named child's (its node knows its service).
    Child(Arc<ChildNode>),
}

/// Where a named child belongs: what its handle needs of the engine.
pub(crate) struct Owner {
    engine: Arc<Engine>,
    service: ServiceIndex,
    task: u32,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("service", &self.service_name())
            .field("child", &self.child().map(|n| n.path()))
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Shutdown {
    pub(crate) fn new(engine: Arc<Engine>, service: ServiceIndex) -> Self {
        let token = engine.node(service).token();
        Self(Scope::Service {
            engine,
            service,
            task: NO_TASK,
            token,
        })
    }

    /// Makes this the handle the runs of task `task` receive: their named children hang under
    /// the task.
    pub(crate) fn set_task(&mut self, task: u32) {
        if let Scope::Service { task: t, .. } = &mut self.0 {
            *t = task;
        }
    }

    fn parts(&self) -> (&Arc<Engine>, ServiceIndex, u32) {
        match &self.0 {
            Scope::Service {
                engine,
                service,
                task,
                ..
            } => (engine, *service, *task),
            Scope::Child(node) => {
                let owner = node.owner();
                (&owner.engine, owner.service, owner.task)
            }
        }
    }

    fn child(&self) -> Option<&Arc<ChildNode>> {
        match &self.0 {
            Scope::Child(node) => Some(node),
            Scope::Service { .. } => None,
        }
    }

    /// The task whose runs (or whose runs' children) hold this handle, if any.
    pub(crate) fn task(&self) -> Option<u32> {
        let task = self.parts().2;
        (task != NO_TASK).then_some(task)
    }

    /// What a named child spawned from this handle needs of the engine.
    pub(crate) fn owner(&self) -> Owner {
        let (engine, service, task) = self.parts();
        Owner {
            engine: Arc::clone(engine),
            service,
            task,
        }
    }

    /// The handle of a named child.
    pub(crate) fn of_child(node: Arc<ChildNode>) -> Self {
        Self(Scope::Child(node))
    }

    pub(crate) fn children(&self) -> &ChildTree {
        &self.engine().node(self.index()).children
    }

    pub(crate) fn service_tracker(&self) -> &TaskTracker {
        &self.engine().node(self.index()).tracker
    }

    /// The node this handle's named children hang under (a root is created on first use).
    pub(crate) fn parent_node(&self) -> Arc<ChildNode> {
        if let Some(node) = self.child() {
            return Arc::clone(node);
        }
        let node = self.engine().node(self.index());
        let task = self.task();
        node.children.root(task, self.token(), || match task {
            Some(t) => {
                let tasks = lock(&node.tasks);
                let name = tasks.get(t as usize).map_or("?", |e| e.spec.name());
                format!("{}/{name}", node.name)
            }
            None => node.name.to_string(),
        })
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        self.parts().0
    }

    pub(crate) fn index(&self) -> ServiceIndex {
        self.parts().1
    }

    pub(crate) fn token(&self) -> &CancellationToken {
        match &self.0 {
            Scope::Child(node) => &node.token,
            Scope::Service { token, .. } => token,
        }
    }

    /// Whether the service is stopping (for a child's handle: or the child is being stopped).
    pub fn is_cancelled(&self) -> bool {
        self.token().is_cancelled()
    }

    /// Completes when the service starts stopping (for a child's handle: or the child is
    /// being stopped).
    pub async fn cancelled(&self) {
        self.token().cancelled().await;
    }

    /// A child token cancelled with this handle: hand it to libraries that take one.
    pub fn child_token(&self) -> CancellationToken {
        self.token().child_token()
    }

    /// Asks the registry to stop gracefully and returns at once: the way a service ends the
    /// program from its own code (a batch job done, a fatal condition), from a task or a hook,
    /// without holding a handle. Never deadlocks; the registry's run loop
    /// ([`Running::run_until`](crate::Running::run_until), `run_until_signal`) then returns.
    ///
    /// ```
    /// use lifecycle_core::Shutdown;
    /// async fn import_once(shutdown: Shutdown) -> std::io::Result<()> {
    ///     // … the work …
    ///     shutdown.request_stop(); // the program ends when the work is done
    ///     Ok(())
    /// }
    /// ```
    pub fn request_stop(&self) {
        self.engine().request_stop(false);
    }

    /// Whether the registry is draining or stopping (a stop was requested): stop accepting new
    /// work, answer with `Connection: close`; the service's own stop comes after the drain.
    pub fn is_draining(&self) -> bool {
        self.engine().draining.is_cancelled()
    }

    /// Completes when a registry stop is requested: the lame-duck drain begins (see
    /// [`RegistryOptions::drain_delay`](crate::RegistryOptions::drain_delay)). The service's
    /// own [`cancelled`](Self::cancelled) follows when the ordered stop reaches it.
    pub async fn draining(&self) {
        self.engine().draining.cancelled().await;
    }

    /// The name of the service this handle belongs to.
    pub fn service_name(&self) -> &str {
        &self.engine().node(self.index()).name
    }

    /// Spawns an unnamed child task (per-connection work) that the service's stop waits for
    /// until `stop_timeout` and then aborts. Returns a handle to abort it earlier.
    ///
    /// From a named child's handle, the task is also part of that child's subtree: the child
    /// ends after it, and aborting the child aborts it. Its result is not kept; use
    /// [`spawn_child`](Self::spawn_child) for work whose failure matters.
    pub fn spawn<F>(&self, future: F) -> tokio::task::AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let tracker = self.service_tracker();
        match self.child() {
            None => self.children().spawn_unnamed(tracker, future),
            Some(node) => node.spawn_unnamed(tracker, future),
        }
    }

    /// Like [`request_stop`](Self::request_stop), with a reason: the first reason given is
    /// in the stop report ([`RegistryStopReport::reason`](crate::RegistryStopReport::reason)),
    /// which `run_until` and `run_until_signal` return, or the source of the start error if
    /// the stop cancelled start-up. Returns at once, never deadlocks.
    ///
    /// ```
    /// use lifecycle_core::Shutdown;
    /// async fn watch_licence(shutdown: Shutdown) -> std::io::Result<()> {
    ///     // … the licence expired …
    ///     shutdown.request_stop_because("licence expired");
    ///     Ok(())
    /// }
    /// ```
    pub fn request_stop_because(&self, reason: impl Into<crate::BoxError>) {
        let reason = crate::StopReason::new(
            Some(self.engine().node(self.index()).name.clone()),
            reason.into(),
        );
        self.engine().request_stop_because(false, Some(reason));
    }

    /// The `Shutdown` of the service whose hook (`on_start`, `on_stop`, `on_reload`) is
    /// running: how a hook requests a stop without holding a handle. `None` outside hooks
    /// (tasks receive their `Shutdown` as an argument).
    ///
    /// ```
    /// use lifecycle_core::{BoxError, Shutdown};
    /// async fn on_start() -> Result<(), BoxError> {
    ///     if let Some(shutdown) = Shutdown::current() {
    ///         shutdown.request_stop_because("nothing to do: the queue is empty");
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn current() -> Option<Shutdown> {
        super::CURRENT.try_with(Clone::clone).ok()
    }
}

impl IntoFuture for Shutdown {
    type Output = ();
    type IntoFuture = WaitForCancellationFutureOwned;

    fn into_future(self) -> Self::IntoFuture {
        self.token().clone().cancelled_owned()
    }
}
