//! Traits and helpers that macro expansions call (through `__private`). Each carries a
//! `#[diagnostic::on_unimplemented]` message written for the user who hits it.

use std::future::Future;
use std::sync::Arc;

use crate::{BoxError, Health, TaskSpawner};

/// Implemented by `#[lifecycle_core::tasks]` for the type of its impl block.
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares `#[service(tasks)]` but has no `#[lifecycle_core::tasks]` impl block",
    label = "no `#[lifecycle_core::tasks] impl` for `{Self}`",
    note = "add `#[lifecycle_core::tasks] impl {Self} {{ … }}` with its hooks and background tasks, or remove `tasks` from `#[service(…)]`",
    note = "for a generic service, the block must cover every instantiation the service has: `#[lifecycle_core::tasks] impl<T: …> Service<T> {{ … }}`"
)]
pub trait TaskBlock: Sized + Send + Sync + 'static {
    /// The block has an `#[on_start]` method.
    const HAS_START_HOOK: bool;
    /// The block has an `#[on_stop]` method.
    const HAS_STOP_HOOK: bool;
    /// The block has a `#[health]` method.
    const HAS_HEALTH_CHECK: bool;
    /// Calls the `#[on_start]` method.
    fn on_start(&self) -> impl Future<Output = Result<(), BoxError>> + Send;
    /// Calls the `#[on_stop]` method.
    fn on_stop(&self) -> impl Future<Output = Result<(), BoxError>> + Send;
    /// Calls the `#[health]` method.
    fn health(&self) -> impl Future<Output = Health> + Send;
    /// The block has an `#[on_reload]` method.
    const HAS_RELOAD_HOOK: bool = false;
    /// Calls the `#[on_reload]` method.
    fn on_reload(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }
    /// Spawns every `#[background_task]`.
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>);
}

/// Implemented by `#[derive(Service)]` when it has `#[service(tasks)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a `#[lifecycle_core::tasks]` impl block, but its `#[derive(Service)]` does not declare it",
    label = "this block's hooks and tasks would never run",
    note = "add `#[service(tasks)]` to the struct's `#[derive(Service)]`"
)]
pub trait DeclaresTasks {}

/// The type of a `#[depends_on]` field: `Arc<T>` (through any alias).
#[diagnostic::on_unimplemented(
    message = "a `#[depends_on]` field must be an `Arc<T>`, not `{Self}`",
    label = "not an `Arc<T>`",
    note = "dependencies are shared: hold the service, value or `dyn Trait` the registry provides as `Arc<T>`"
)]
pub trait DependencyField {
    /// The `T` of `Arc<T>`.
    type Target: ?Sized + 'static;
    /// Wraps the shared instance.
    fn from_arc(arc: Arc<Self::Target>) -> Self;
}

impl<T: ?Sized + 'static> DependencyField for Arc<T> {
    type Target = T;
    fn from_arc(arc: Arc<T>) -> Self {
        arc
    }
}

/// A registry that can fill a `#[depends_on]` field of type `F` (an `Arc<T>`, through any
/// alias): implemented for every registry that provides `T`. Bounds on it keep the
/// `FromRegistry` impl of a service free of projections, so a field that is not an `Arc` is
/// reported once, by [`DependencyField`].
#[diagnostic::on_unimplemented(
    message = "the registry `{Self}` cannot fill a `#[depends_on]` field of type `{F}`",
    label = "`{F}` is not an `Arc<T>` that `{Self}` provides",
    note = "a `#[depends_on]` field is an `Arc<T>` where the registry has a field of type `T` (or a `#[provide(T)]` key)"
)]
pub trait ProvideField<F>: crate::Registry {
    /// The shared instance, as the field's type.
    fn provide_field(cx: &mut crate::Resolver<Self>) -> Result<F, crate::BuildError>;
}

impl<R, T> ProvideField<Arc<T>> for R
where
    R: crate::Provide<T>,
    T: ?Sized + 'static,
{
    fn provide_field(cx: &mut crate::Resolver<Self>) -> Result<Arc<T>, crate::BuildError> {
        cx.get::<T>()
    }
}

/// What an `#[on_start]`/`#[on_stop]` method may return: `()` or `Result<(), E: Into<BoxError>>`.
#[diagnostic::on_unimplemented(
    message = "a hook must return `()` or `Result<(), E>` where `E: Into<BoxError>`, not `{Self}`",
    label = "this return type is not a hook outcome",
    note = "`anyhow::Result<()>`, `std::io::Result<()>` and `Result<(), YourError>` all work"
)]
pub trait HookOutcome {
    /// The conversion.
    fn into_hook_result(self) -> Result<(), BoxError>;
}

impl HookOutcome for () {
    fn into_hook_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> HookOutcome for Result<(), E> {
    fn into_hook_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// What a `#[background_task]` may return: `()` or `Result<(), E: Into<BoxError>>`. Mirrors
/// [`TaskOutcome`](crate::TaskOutcome) with a message for the user of the macro.
#[diagnostic::on_unimplemented(
    message = "a background task must return `()` or `Result<(), E>` where `E: Into<BoxError>`, not `{Self}`",
    label = "this return type is not a task outcome",
    note = "`anyhow::Result<()>`, `std::io::Result<()>` and `Result<(), E>` with `E: std::error::Error + Send + Sync + 'static` all work"
)]
pub trait TaskReturn {
    /// The conversion.
    fn into_task_result(self) -> Result<(), BoxError>;
}

impl TaskReturn for () {
    fn into_task_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> TaskReturn for Result<(), E> {
    fn into_task_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// What a `#[health]` method may return: `Health`, `bool` or `Result<(), E: Into<BoxError>>`.
/// Mirrors [`IntoHealth`](crate::IntoHealth) with a message for the user of the macro.
#[diagnostic::on_unimplemented(
    message = "a `#[health]` method must return `Health`, `bool` or `Result<(), E>` where `E: Into<BoxError>`, not `{Self}`",
    label = "this return type cannot be turned into `Health`",
    note = "an `Err` is reported as unhealthy with its message; `Health::degraded(…)` keeps the service ready"
)]
pub trait HealthReturn {
    /// The conversion.
    fn into_health(self) -> Health;
}

impl HealthReturn for Health {
    fn into_health(self) -> Health {
        self
    }
}

impl HealthReturn for bool {
    fn into_health(self) -> Health {
        crate::IntoHealth::into_health(self)
    }
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> HealthReturn for Result<(), E> {
    fn into_health(self) -> Health {
        crate::IntoHealth::into_health(self)
    }
}

/// The type of a background task's second parameter: the [`Shutdown`](crate::Shutdown) handle
/// (under any alias or parameter name).
#[diagnostic::on_unimplemented(
    message = "the second parameter of a background task receives the `Shutdown` handle, not `{Self}`",
    label = "expected `Shutdown`",
    note = "write `shutdown: Shutdown`, or drop the parameter to have the task's future dropped when the service stops"
)]
pub trait ShutdownParam {
    /// The handle, as the parameter's type.
    fn from_shutdown(shutdown: crate::Shutdown) -> Self;
}

impl ShutdownParam for crate::Shutdown {
    fn from_shutdown(shutdown: crate::Shutdown) -> Self {
        shutdown
    }
}

/// A field of a `#[derive(Registry)]` that is not `#[value]`: a service.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a service, so a registry cannot start and stop it",
    label = "not a `Service`",
    note = "derive `Service` for `{Self}` (or implement it), or mark the field `#[value]` if it is a plain value such as configuration"
)]
pub trait RegistryService: crate::Service {}

#[diagnostic::do_not_recommend]
impl<S: crate::Service> RegistryService for S {}

/// Adds a service field to the registry being built (checked with [`RegistryService`]).
pub fn add_service<S: RegistryService>(
    registry: &mut crate::DynRegistry,
    service: Arc<S>,
) -> crate::ServiceId<S> {
    registry.add(service)
}

/// A value or service of a registry: shared across tasks and threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be shared between threads, so it cannot be a field of a registry",
    label = "not `Send + Sync`",
    note = "services and values of a registry are shared behind an `Arc` by tasks on any thread: use `Arc`, `Mutex` or atomics instead of `Rc`, `Cell` or `RefCell`"
)]
pub trait Shareable: Send + Sync + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> Shareable for T {}

/// Checks at a registry field's type that it is [`Shareable`].
pub fn assert_shareable<T: Shareable>() {}

/// Checks, at the impl block's self type, that its `#[derive(Service)]` declares the block.
pub fn assert_declares_tasks<T: ?Sized + DeclaresTasks>() {}

/// Checks at the user's tokens that a hook or task future is `Send`.
pub fn assert_send<F: Future + Send>(future: F) -> F {
    future
}
