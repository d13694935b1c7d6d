//! The handle a task uses to learn that its service is stopping, and to spawn tracked children.

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::engine::{Engine, lock};
use crate::events::ServiceIndex;

/// Tells a task its service is stopping; spawns child tasks its service's stop waits for.
///
/// Cheap to clone (one `Arc`). Await it directly, or select on [`cancelled`](Self::cancelled):
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
pub struct Shutdown {
    engine: Arc<Engine>,
    service: ServiceIndex,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("service", &self.service_name())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Shutdown {
    pub(crate) fn new(engine: Arc<Engine>, service: ServiceIndex) -> Self {
        Self { engine, service }
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub(crate) fn index(&self) -> ServiceIndex {
        self.service
    }

    pub(crate) fn token(&self) -> &CancellationToken {
        &self.engine.node(self.service).token
    }

    /// Whether the service is stopping.
    pub fn is_cancelled(&self) -> bool {
        self.token().is_cancelled()
    }

    /// Completes when the service starts stopping.
    pub async fn cancelled(&self) {
        self.token().cancelled().await;
    }

    /// A child token cancelled with the service: hand it to libraries that take one.
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
        self.engine.request_stop(false);
    }

    /// Whether the registry is draining or stopping (a stop was requested): stop accepting new
    /// work, answer with `Connection: close`; the service's own stop comes after the drain.
    pub fn is_draining(&self) -> bool {
        self.engine.draining.is_cancelled()
    }

    /// Completes when a registry stop is requested: the lame-duck drain begins (see
    /// [`RegistryOptions::drain_delay`](crate::RegistryOptions::drain_delay)). The service's
    /// own [`cancelled`](Self::cancelled) follows when the ordered stop reaches it.
    pub async fn draining(&self) {
        self.engine.draining.cancelled().await;
    }

    /// The name of the service this handle belongs to.
    pub fn service_name(&self) -> &str {
        &self.engine.node(self.service).name
    }

    /// Spawns a child task (per-connection work) that the service's stop waits for until
    /// `stop_timeout` and then aborts. Returns a handle to abort it earlier.
    pub fn spawn<F>(&self, future: F) -> tokio::task::AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let node = self.engine.node(self.service);
        let tracked = node.tracker.track_future(future);
        let mut children = lock(&node.children);
        let set = children.get_or_insert_with(tokio::task::JoinSet::new);
        // Reap finished children so a long-lived server does not accumulate them.
        while set.try_join_next().is_some() {}
        set.spawn(tracked)
    }
}

impl IntoFuture for Shutdown {
    type Output = ();
    type IntoFuture = WaitForCancellationFutureOwned;

    fn into_future(self) -> Self::IntoFuture {
        self.token().clone().cancelled_owned()
    }
}
