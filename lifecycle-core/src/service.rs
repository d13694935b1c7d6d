//! The [`Service`] trait: what a service is to the engine. `#[derive(Service)]` implements it;
//! you can implement it by hand too.

use std::any::TypeId;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{BoxFuture, Either};

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

/// A service-level restart policy (the service with its transitive dependents, along the
/// graph): when one of the service's tasks fails past its own policy, the registry restarts
/// the service — stop it and its dependents, wait the backoff, start them again — at most
/// `max_restarts` times within `within`. Past that limit, or without this policy, the
/// service's [`Escalation`] applies. Names and meaning as on [`TaskSpec`](crate::TaskSpec):
/// the backoff doubles per consecutive restart from `backoff` up to `max_backoff`, and resets
/// once the service ran for `max_backoff` without failing. No jitter: restarts are scheduled
/// exactly. A restart whose start fails counts as that service's next failure. The policy
/// applies once the registry runs: a failure during start-up fails the start (rollback).
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::{ServiceOptions, ServiceRestart};
/// const OPTS: ServiceOptions = ServiceOptions::DEFAULT.restart(
///     ServiceRestart::DEFAULT
///         .max_restarts(3, Duration::from_secs(60))
///         .backoff(Duration::from_secs(1), Duration::from_secs(30)),
/// );
/// assert_eq!(OPTS.restart.unwrap().max_restarts, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceRestart {
    /// Restarts allowed within `within`; the next failure escalates. Default 3.
    pub max_restarts: u32,
    /// The intensity window. Default 60 s.
    pub within: Duration,
    /// The first restart's delay, doubled per consecutive restart. Default 1 s.
    pub backoff: Duration,
    /// The cap on the delay. Default 60 s.
    pub max_backoff: Duration,
}

impl ServiceRestart {
    /// 3 restarts within 60 s, backoff from 1 s to 60 s.
    pub const DEFAULT: Self = Self {
        max_restarts: 3,
        within: Duration::from_secs(60),
        backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(60),
    };

    /// Intensity limit: at most `max` restarts within `within`.
    #[must_use]
    pub const fn max_restarts(mut self, max: u32, within: Duration) -> Self {
        self.max_restarts = max;
        self.within = within;
        self
    }

    /// Exponential backoff from `base`, doubling per consecutive restart, capped at `max`.
    #[must_use]
    pub const fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = base;
        self.max_backoff = if max.as_nanos() < base.as_nanos() {
            base
        } else {
            max
        };
        self
    }
}

impl Default for ServiceRestart {
    fn default() -> Self {
        Self::DEFAULT
    }
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
    /// Restart the service with its dependents before escalating. Default: none.
    pub restart: Option<ServiceRestart>,
    /// Whether the service counts as ready while every one of its tasks waits in a restart
    /// backoff. Default `false`: a service whose only task is stuck in backoff is not ready.
    pub ready_in_backoff: bool,
}

impl ServiceOptions {
    /// The defaults: start 30 s, stop 5 s, hooks 5 s, escalate to registry shutdown.
    pub const DEFAULT: Self = Self {
        start_timeout: Some(Duration::from_secs(30)),
        stop_timeout: Duration::from_secs(5),
        hook_timeout: Duration::from_secs(5),
        escalation: Escalation::ShutdownRegistry,
        restart: None,
        ready_in_backoff: false,
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

    /// Restarts the service with its dependents when one of its tasks fails past its own
    /// policy, before the [`escalation`](Self::escalation) applies. See [`ServiceRestart`].
    ///
    /// ```
    /// use lifecycle_core::{Escalation, ServiceOptions, ServiceRestart};
    /// // Restart up to 3 times a minute; then stop it and its dependents, the rest runs on.
    /// const OPTS: ServiceOptions = ServiceOptions::DEFAULT
    ///     .restart(ServiceRestart::DEFAULT)
    ///     .escalation(Escalation::StopDependents);
    /// # let _ = OPTS;
    /// ```
    #[must_use]
    pub const fn restart(mut self, policy: ServiceRestart) -> Self {
        self.restart = Some(policy);
        self
    }

    /// Whether the service stays ready while all its tasks wait in a restart backoff
    /// (default `false`).
    ///
    /// ```
    /// use lifecycle_core::ServiceOptions;
    /// // A best-effort exporter: its backoff must not take the pod out of rotation.
    /// const OPTS: ServiceOptions = ServiceOptions::DEFAULT.ready_in_backoff(true);
    /// assert!(OPTS.ready_in_backoff);
    /// ```
    #[must_use]
    pub const fn ready_in_backoff(mut self, ready: bool) -> Self {
        self.ready_in_backoff = ready;
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
    /// (For a derived service: whether its tasks block has an `#[on_start]`.)
    const HAS_START_HOOK: bool = match Self::HOOKS {
        Some(hooks) => hooks.has_start,
        None => true,
    };
    /// `false` if `on_stop` is the default no-op.
    const HAS_STOP_HOOK: bool = match Self::HOOKS {
        Some(hooks) => hooks.has_stop,
        None => true,
    };
    /// `false` if `health` is the default (always healthy).
    const HAS_HEALTH_CHECK: bool = match Self::HOOKS {
        Some(hooks) => hooks.has_health,
        None => true,
    };
    /// `true` if the service has an [`on_reload`](Self::on_reload). Unlike the other hooks,
    /// reload is opt-in: the default is `false`, and a hand-written `on_reload` is called
    /// only when this is set (the derive sets it for an `#[on_reload]` method), so the reload
    /// report lists only services that actually reload.
    const HAS_RELOAD_HOOK: bool = match Self::HOOKS {
        Some(hooks) => hooks.has_reload,
        None => false,
    };
    /// Not public API: set by `#[derive(Service)]`, whose hooks and tasks the default methods
    /// (and `HAS_*` constants) then follow. A hand-written service overrides the methods
    /// instead and leaves this `None`.
    #[doc(hidden)]
    const HOOKS: Option<crate::__private::Hooks<Self>> = None;

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

    /// Runs once per incarnation, before any task is spawned. A dropped `on_start` (rollback)
    /// gets no `on_stop`: clean up after yourself if cancelled.
    ///
    /// Must be re-runnable: an administrative restart
    /// ([`RegistryHandle::restart`](crate::RegistryHandle::restart)) or a service-level
    /// restart policy runs `on_stop` and then `on_start` again on the same value (dependents
    /// hold it behind `Arc`), so reset what the previous incarnation left.
    fn on_start(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        derived_or(Self::HOOKS.map(|hooks| (hooks.on_start)(self)), Ok(()))
    }

    /// Runs once after every task ended (or was aborted).
    fn on_stop(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        derived_or(Self::HOOKS.map(|hooks| (hooks.on_stop)(self)), Ok(()))
    }

    /// Re-reads configuration without a restart: called for every Running service that has
    /// it ([`HAS_RELOAD_HOOK`](Self::HAS_RELOAD_HOOK)) by
    /// [`RegistryHandle::reload`](crate::RegistryHandle::reload) and on SIGHUP in
    /// `run_until_signal`, in dependency order (a service reloads after its dependencies),
    /// independent ones concurrently, each bounded by `hook_timeout`. An error is reported
    /// and stops nothing; a service that cannot go on calls
    /// [`Shutdown::current`](crate::Shutdown::current)`()` and requests a stop itself.
    ///
    /// ```
    /// use std::sync::{Arc, RwLock};
    /// use lifecycle_core::{BoxError, Service};
    /// struct Limits { max: RwLock<u32> }
    /// impl Service for Limits {
    ///     const NAME: &'static str = "Limits";
    ///     const HAS_RELOAD_HOOK: bool = true;
    ///     async fn on_reload(&self) -> Result<(), BoxError> {
    ///         let max = std::env::var("MAX").unwrap_or_else(|_| "10".into()).parse()?;
    ///         *self.max.write().unwrap() = max;
    ///         Ok(())
    ///     }
    /// }
    /// ```
    fn on_reload(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        derived_or(Self::HOOKS.map(|hooks| (hooks.on_reload)(self)), Ok(()))
    }

    /// The service's own view of its health; bounded by the registry's health timeout.
    fn health(&self) -> impl Future<Output = Health> + Send {
        derived_or(
            Self::HOOKS.map(|hooks| (hooks.health)(self)),
            Health::Healthy,
        )
    }

    /// Spawns the background tasks, after `on_start` succeeded.
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        if let Some(hooks) = Self::HOOKS {
            (hooks.spawn_tasks)(self, tasks);
        }
    }
}

/// A derived service's hook future, or the default's ready value.
fn derived_or<T>(
    derived: Option<BoxFuture<'_, T>>,
    default: T,
) -> Either<BoxFuture<'_, T>, std::future::Ready<T>> {
    match derived {
        Some(future) => Either::Left(future),
        None => Either::Right(std::future::ready(default)),
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
