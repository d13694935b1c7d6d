//! The [`Service`] trait: what a service is to the engine. `#[derive(Service)]` implements it;
//! you can implement it by hand too.

use std::any::TypeId;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::BoxError;
use crate::health::Health;
use crate::task::TaskSpawner;

/// What happens when a service fails past its restart policy.
///
/// ```
/// use lifecycle_core::Escalation;
/// assert_eq!(Escalation::default(), Escalation::ShutdownRegistry);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Escalation {
    /// Gracefully stop the whole registry; `run_until_signal`/`wait` return an error naming the service.
    #[default]
    ShutdownRegistry,
    /// Stop this service and, first, every service that depends on it (transitively); the rest runs on.
    StopDependents,
}

/// Per-service timeouts and failure policy.
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::ServiceOptions;
/// const OPTS: ServiceOptions = ServiceOptions::DEFAULT.stop_timeout(Duration::from_millis(100));
/// assert_eq!(OPTS.stop_timeout, Duration::from_millis(100));
/// assert_eq!(OPTS.start_timeout, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceOptions {
    /// Bound on `on_start`; `None` waits forever. Default 30 s.
    pub start_timeout: Option<Duration>,
    /// How long tasks get to finish after cancellation before they are aborted. Default 5 s.
    pub stop_timeout: Duration,
    /// Bound on `on_stop`. Default 5 s.
    pub hook_timeout: Duration,
    /// What a failure past the restart policy does. Default: shut the registry down.
    pub escalation: Escalation,
}

impl ServiceOptions {
    /// The defaults: start 30 s, stop 5 s, hooks 5 s, escalate to registry shutdown.
    pub const DEFAULT: Self = Self {
        start_timeout: Some(Duration::from_secs(30)),
        stop_timeout: Duration::from_secs(5),
        hook_timeout: Duration::from_secs(5),
        escalation: Escalation::ShutdownRegistry,
    };

    /// Sets `start_timeout`.
    #[must_use]
    pub const fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// Removes the bound on `on_start`.
    #[must_use]
    pub const fn no_start_timeout(mut self) -> Self {
        self.start_timeout = None;
        self
    }

    /// Sets `stop_timeout`.
    #[must_use]
    pub const fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// Sets `hook_timeout`.
    #[must_use]
    pub const fn hook_timeout(mut self, timeout: Duration) -> Self {
        self.hook_timeout = timeout;
        self
    }

    /// Sets the escalation policy.
    #[must_use]
    pub const fn escalation(mut self, escalation: Escalation) -> Self {
        self.escalation = escalation;
        self
    }
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A dependency's type identity, as a service declares it.
///
/// ```
/// use lifecycle_core::Dependency;
/// trait Cache: Send + Sync {}
/// let d = Dependency::of::<dyn Cache>();
/// assert!(d.type_name.contains("Cache"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// `TypeId` of the dependency (a service, a `dyn Trait` key or a plain value).
    pub type_id: TypeId,
    /// Its type name, for error messages.
    pub type_name: &'static str,
}

impl Dependency {
    /// The dependency on `T`.
    pub fn of<T: ?Sized + 'static>() -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }
}

/// A service: something with a lifecycle that a registry starts and stops.
///
/// Usually derived. By hand:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use lifecycle_core::{BoxError, DynRegistry, Service, TaskSpawner, TaskSpec};
///
/// struct Heartbeat;
///
/// impl Service for Heartbeat {
///     const NAME: &'static str = "Heartbeat";
///     const HAS_STOP_HOOK: bool = false;
///
///     async fn on_start(&self) -> Result<(), BoxError> {
///         Ok(())
///     }
///
///     fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
///         tasks.spawn(TaskSpec::periodic("beat", Duration::from_secs(30)), |_shutdown| async {});
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut registry = DynRegistry::new();
/// registry.add(Arc::new(Heartbeat));
/// let running = registry.build()?.start().await?;
/// let report = running.stop().await;
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
pub trait Service: Send + Sync + Sized + 'static {
    /// The name in logs, reports and errors.
    const NAME: &'static str;
    /// Timeouts and escalation.
    const OPTIONS: ServiceOptions = ServiceOptions::DEFAULT;
    /// `false` if `on_start` is the default no-op, so the engine never calls (or boxes) it.
    const HAS_START_HOOK: bool = true;
    /// `false` if `on_stop` is the default no-op.
    const HAS_STOP_HOOK: bool = true;
    /// `false` if `health` is the default (always healthy).
    const HAS_HEALTH_CHECK: bool = true;

    /// The name the registry gives this service: [`NAME`](Self::NAME) by default. Generic
    /// services override it to include their type arguments (`Scheduler<Daily>`), so two
    /// instantiations can live in one registry.
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(Self::NAME)
    }

    /// The types this service depends on. Used to wire the graph and to check it.
    fn dependencies() -> Vec<Dependency> {
        Vec::new()
    }

    /// Runs once before any task is spawned. A dropped `on_start` (rollback) gets no `on_stop`:
    /// clean up after yourself if cancelled.
    fn on_start(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Runs once after every task ended (or was aborted).
    fn on_stop(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }

    /// The service's own view of its health; bounded by the registry's health timeout.
    fn health(&self) -> impl Future<Output = Health> + Send {
        std::future::ready(Health::Healthy)
    }

    /// Spawns the background tasks, after `on_start` succeeded.
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let _ = tasks;
    }
}

/// `Base<A, B>` from a service's name and its type arguments' `type_name`s, with module paths
/// dropped (`Scheduler<Daily>`, not `Scheduler<my_app::jobs::Daily>`).
#[doc(hidden)]
pub fn generic_name(base: &str, type_args: &[&str]) -> std::borrow::Cow<'static, str> {
    fn short(type_name: &str) -> String {
        // Keep only the last segment of every path inside the type: split at delimiters.
        let mut out = String::with_capacity(type_name.len());
        let mut segment = String::new();
        for c in type_name.chars() {
            if c.is_alphanumeric() || c == '_' || c == ':' {
                segment.push(c);
            } else {
                out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
                segment.clear();
                out.push(c);
            }
        }
        out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
        out
    }
    let args: Vec<String> = type_args.iter().map(|t| short(t)).collect();
    std::borrow::Cow::Owned(format!("{base}<{}>", args.join(", ")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generic_names_drop_module_paths() {
        assert_eq!(
            super::generic_name(
                "Scheduler",
                &[
                    "app::jobs::Daily",
                    "alloc::vec::Vec<core::option::Option<u8>>"
                ]
            ),
            "Scheduler<Daily, Vec<Option<u8>>>"
        );
    }
}
