//! Traits and helpers that macro expansions call (through `__private`). Each carries a
//! `#[diagnostic::on_unimplemented]` message written for the user who hits it.

use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::{BoxError, Health, TaskSpawner};

// Hooks and tasks return `TaskOutcome`s and health checks `IntoHealth` values: the expansions
// call those public traits, which carry the `#[diagnostic::on_unimplemented]` messages.

/// Implemented by `#[lifecycle_core::tasks]` for the type of its impl block.
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares `#[service(tasks)]` but has no `#[lifecycle_core::tasks]` impl block",
    label = "no `#[lifecycle_core::tasks] impl` for `{Self}`",
    note = "add `#[lifecycle_core::tasks] impl {Self} {{ … }}` with its hooks and background tasks, or remove `tasks` from `#[service(…)]`",
    note = "for a generic service, the block must cover every instantiation the service has: `#[lifecycle_core::tasks] impl<T: …> Service<T> {{ … }}`"
)]
pub trait TaskBlock: Sized + Send + Sync + 'static {
    /// The block has an `#[on_start]` method.
    const HAS_START_HOOK: bool = false;
    /// The block has an `#[on_stop]` method.
    const HAS_STOP_HOOK: bool = false;
    /// The block has a `#[health]` method.
    const HAS_HEALTH_CHECK: bool = false;
    /// Calls the `#[on_start]` method. The defaults are compiled once, here: a block only
    /// generates the hooks it has (less for the type checker per service).
    fn on_start(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }
    /// Calls the `#[on_stop]` method.
    fn on_stop(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }
    /// Calls the `#[health]` method.
    fn health(&self) -> impl Future<Output = Health> + Send {
        std::future::ready(Health::Healthy)
    }
    /// The block has an `#[on_reload]` method.
    const HAS_RELOAD_HOOK: bool = false;
    /// Calls the `#[on_reload]` method.
    fn on_reload(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        std::future::ready(Ok(()))
    }
    /// Spawns every `#[background_task]`.
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let _ = (self, tasks);
    }
    /// The block as the derived `Service`'s [`Hooks`]. A projection, not a generic function's
    /// bound: a missing block is reported with this trait's message and no extra note.
    const HOOKS: Hooks<Self> = Hooks {
        has_start: Self::HAS_START_HOOK,
        has_stop: Self::HAS_STOP_HOOK,
        has_reload: Self::HAS_RELOAD_HOOK,
        has_health: Self::HAS_HEALTH_CHECK,
        on_start: |service| Box::pin(service.on_start()),
        on_stop: |service| Box::pin(service.on_stop()),
        on_reload: |service| Box::pin(service.on_reload()),
        health: |service| Box::pin(service.health()),
        spawn_tasks: Self::spawn_tasks,
    };
}

/// A derived service's hooks as function pointers: `#[derive(Service)]` sets
/// [`Service::HOOKS`](crate::Service) to this instead of overriding `on_start`, `on_stop`,
/// `on_reload`, `health` and `spawn_tasks`. One constant per service instead of five methods
/// with `impl Future` return types is what keeps `cargo check` of many derived services cheap
/// (`benches/compile-time/CHECK-TIME.md`); the boxing is the one the engine does anyway.
pub struct Hooks<S> {
    /// The service has an `#[on_start]` method.
    pub has_start: bool,
    /// The service has an `#[on_stop]` method.
    pub has_stop: bool,
    /// The service has an `#[on_reload]` method.
    pub has_reload: bool,
    /// The service has a `#[health]` method.
    pub has_health: bool,
    /// Runs the `#[on_start]` method.
    pub on_start: fn(&S) -> BoxFuture<'_, Result<(), BoxError>>,
    /// Runs the `#[on_stop]` method.
    pub on_stop: fn(&S) -> BoxFuture<'_, Result<(), BoxError>>,
    /// Runs the `#[on_reload]` method.
    pub on_reload: fn(&S) -> BoxFuture<'_, Result<(), BoxError>>,
    /// Runs the `#[health]` method.
    pub health: fn(&S) -> BoxFuture<'_, Health>,
    /// Spawns every `#[background_task]`.
    pub spawn_tasks: fn(&Arc<S>, &mut TaskSpawner<'_>),
}

// Not derived: `Hooks<S>` is `Copy` for every `S` (it holds only function pointers).
impl<S> Clone for Hooks<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for Hooks<S> {}

impl<S> Hooks<S> {
    /// A derived service without a tasks block: no hooks, no tasks.
    pub const NONE: Self = Self {
        has_start: false,
        has_stop: false,
        has_reload: false,
        has_health: false,
        on_start: |_| Box::pin(std::future::ready(Ok(()))),
        on_stop: |_| Box::pin(std::future::ready(Ok(()))),
        on_reload: |_| Box::pin(std::future::ready(Ok(()))),
        health: |_| Box::pin(std::future::ready(Health::Healthy)),
        spawn_tasks: |_, _| {},
    };
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

/// A field of a `#[derive(Service)]` struct: shared across tasks and threads with its service.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be shared between threads, so it cannot be a field of a service",
    label = "not `Send + Sync`",
    note = "a service is shared behind an `Arc` by tasks on any thread: use `Arc`, `Mutex` or atomics instead of `Rc`, `Cell` or `RefCell`, and `dyn Trait + Send + Sync` for trait objects"
)]
pub trait ShareableField {}

#[diagnostic::do_not_recommend]
impl<T: ?Sized + Send + Sync> ShareableField for T {}

/// Checks at a service field's type that it is [`ShareableField`].
pub fn assert_shareable_field<T: ?Sized + ShareableField>() {}

/// A registry that can fill a field of a derived service with `Default::default()`: every
/// registry, when the field's type implements `Default`. A bound through the registry, so a
/// service that is only ever given as an `#[instance]` needs no `Default`.
#[diagnostic::on_unimplemented(
    message = "`{T}` has no `Default` value, so the registry `{Self}` cannot build the service that has a field of this type",
    label = "`{T}` does not implement `Default`",
    note = "give the field `#[service(default = …)]`, implement `Default` for `{T}`, or mark the service's registry field `#[instance]` and give it to the builder"
)]
pub trait DefaultField<T> {
    /// `T::default()`.
    fn default_field() -> T;
}

#[diagnostic::do_not_recommend]
impl<R: ?Sized, T: Default> DefaultField<T> for R {
    fn default_field() -> T {
        T::default()
    }
}

/// Checks at a registry field's type that it is [`Shareable`].
pub fn assert_shareable<T: Shareable>() {}

/// Checks, at the impl block's self type, that its `#[derive(Service)]` declares the block.
pub fn assert_declares_tasks<T: ?Sized + DeclaresTasks>() {}

/// Checks at the user's tokens that a hook or task future is `Send`.
pub fn assert_send<F: Future + Send>(future: F) -> F {
    future
}

/// The builder `#[derive(Registry)]` generates for `Self`. The derive defines the builder (and
/// the services struct) inside an anonymous `const` block, so that its own code always reaches
/// them whatever else the module names, and makes them nameable with module-level aliases:
/// `type AppBuilder = <App as RegistryBuilder>::Builder;`.
#[doc(hidden)]
pub trait RegistryBuilder: crate::Registry {
    /// The generated builder.
    type Builder;
}

/// Implemented by the builder `#[derive(Registry)]` generates for `R`, and only by it: checks
/// that the builder's name resolves, in the registry's module, to the generated alias and not
/// to a user item of the same name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` here is not the builder `#[derive(Registry)]` generates for `{R}`",
    label = "another item in this module is named `{Self}`",
    note = "rename that item, or give the generated builder another name: `#[registry(builder = {R}RegistryBuilder)]`"
)]
#[doc(hidden)]
pub trait GeneratedBuilder<R> {}

/// Implemented by the services struct `#[derive(Registry)]` generates for `R`, and only by it
/// (see [`GeneratedBuilder`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` here is not the services struct `#[derive(Registry)]` generates for `{R}`",
    label = "another item in this module is named `{Self}`",
    note = "rename that item, or give the generated services struct another name: `#[registry(services = {R}RegistryServices)]`"
)]
#[doc(hidden)]
pub trait GeneratedServices<R> {}

/// The checks that a builder's or services struct's name, in the registry's module, resolves
/// to the generated type. Called through a type-relative path (`AppBuilder::…::<App>`), where
/// the name's generic arguments are inferred: a generic user type of the same name gets the
/// explanation too, not a suggestion to add generics to the registry.
#[doc(hidden)]
pub trait GeneratedName {
    /// Checks that `Self` is the builder generated for `R`.
    fn __lifecycle_generated_builder_of<R>()
    where
        Self: GeneratedBuilder<R>,
    {
    }
    /// Checks that `Self` is the services struct generated for `R`.
    fn __lifecycle_generated_services_of<R>()
    where
        Self: GeneratedServices<R>,
    {
    }
}

#[diagnostic::do_not_recommend]
impl<T: ?Sized> GeneratedName for T {}
