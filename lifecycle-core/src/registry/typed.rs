//! The typed front that `#[derive(Registry)]` generates code against: one [`Provide`] impl
//! per field (O(1) lookups, no HList), construction from dependencies with cycle detection,
//! and typed access to the running services.

use std::ops::Deref;
use std::sync::Arc;

use crate::{BuildError, BuiltRegistry, RegistryStopReport, RunningRegistry, StartError};

/// A compile-time composition of services and values. Implemented by `#[derive(Registry)]`.
pub trait Registry: Sized + 'static {
    /// The registry's name, for messages.
    const NAME: &'static str;
    /// Per-field construction slots (generated).
    type Slots;
    /// The services and values, each as an `Arc`, as the running registry exposes them.
    type Services: 'static;
}

/// `Self` (a registry) has a field that provides `T`. One impl per field, generated.
#[diagnostic::on_unimplemented(
    message = "the registry `{Self}` has no field that provides `{T}`",
    label = "`{T}` is required here but missing from `{Self}`",
    note = "add a field of type `{T}` to `{Self}`; for a trait object, put `#[provide(dyn Trait)]` on the field whose type implements it"
)]
pub trait Provide<T: ?Sized + 'static>: Registry {
    /// Builds (once) or returns the shared instance.
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<T>, BuildError>;
}

/// A service that can be built from the registry `R`'s other fields.
/// `#[derive(Service)]` implements it, bounding `R` by one `Provide` per `#[depends_on]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from the registry `{R}`",
    label = "`{Self}` is not constructible from its dependencies",
    note = "derive `Service` for `{Self}`, implement `FromRegistry` by hand, or mark the field `#[instance]` and pass it to the builder"
)]
pub trait FromRegistry<R: Registry>: Sized {
    /// Builds `Self`, asking `cx` for each dependency.
    fn from_registry(cx: &mut Resolver<R>) -> Result<Self, BuildError>;
}

/// One field's construction state.
#[derive(Debug, Default)]
pub enum Slot<T> {
    /// Not given; build from dependencies when first needed.
    #[default]
    Empty,
    /// Given to the builder.
    Supplied(T),
    /// Being built (seeing it again means a cycle).
    Building,
    /// Built and shared.
    Built(Arc<T>),
}

impl<T> From<Option<T>> for Slot<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Slot::Empty, Slot::Supplied)
    }
}

/// Builds a registry's fields in dependency order, on demand, detecting cycles.
pub struct Resolver<R: Registry> {
    slots: R::Slots,
    stack: Vec<&'static str>,
}

impl<R: Registry> Resolver<R> {
    /// A resolver over the given slots.
    pub fn new(slots: R::Slots) -> Self {
        Self {
            slots,
            stack: Vec::new(),
        }
    }

    /// The shared instance of `T`, building it (and its dependencies) if needed.
    pub fn get<T: ?Sized + 'static>(&mut self) -> Result<Arc<T>, BuildError>
    where
        R: Provide<T>,
    {
        R::provide(self)
    }

    /// Resolves one field: returns it if built, wraps a supplied instance, or builds it with
    /// `build`, reporting a cycle with its path.
    pub fn resolve<T: Send + Sync + 'static>(
        &mut self,
        field: &'static str,
        slot: fn(&mut R::Slots) -> &mut Slot<T>,
        build: fn(&mut Self) -> Result<T, BuildError>,
    ) -> Result<Arc<T>, BuildError> {
        match std::mem::replace(slot(&mut self.slots), Slot::Building) {
            Slot::Built(shared) => {
                *slot(&mut self.slots) = Slot::Built(Arc::clone(&shared));
                Ok(shared)
            }
            Slot::Supplied(value) => {
                let shared = Arc::new(value);
                *slot(&mut self.slots) = Slot::Built(Arc::clone(&shared));
                Ok(shared)
            }
            Slot::Building => {
                let start = self.stack.iter().position(|f| *f == field).unwrap_or(0);
                let mut path: Vec<String> = self.stack[start..]
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect();
                path.push(field.to_owned());
                Err(BuildError::Cycle { path })
            }
            Slot::Empty => {
                self.stack.push(field);
                let built = build(self);
                self.stack.pop();
                match built {
                    Ok(value) => {
                        let shared = Arc::new(value);
                        *slot(&mut self.slots) = Slot::Built(Arc::clone(&shared));
                        Ok(shared)
                    }
                    Err(e) => {
                        *slot(&mut self.slots) = Slot::Empty;
                        Err(e)
                    }
                }
            }
        }
    }

    /// The error for a field that must be supplied to the builder.
    pub fn missing_instance(field: &'static str) -> BuildError {
        BuildError::MissingInstance {
            registry: R::NAME,
            field,
        }
    }
}

/// A typed registry that is built (wired, checked) but not started.
pub struct Built<R: Registry> {
    services: R::Services,
    inner: BuiltRegistry,
}

impl<R: Registry> Built<R> {
    #[doc(hidden)]
    pub fn new(services: R::Services, inner: BuiltRegistry) -> Self {
        Self { services, inner }
    }

    /// The services, typed, before start.
    pub fn services(&self) -> &R::Services {
        &self.services
    }

    /// The erased registry (graph rendering, events).
    pub fn registry(&self) -> &BuiltRegistry {
        &self.inner
    }

    /// A handle usable before start-up (health, states, stop): see [`BuiltRegistry::handle`].
    pub fn handle(&self) -> crate::RegistryHandle {
        self.inner.handle()
    }

    /// Starts in dependency order; rolls back on failure.
    pub async fn start(self) -> Result<Running<R>, StartError> {
        let inner = self.inner.start().await?;
        Ok(Running {
            services: self.services,
            inner,
        })
    }

    /// Installs signal handlers, starts, runs until SIGINT/SIGTERM or escalation, stops.
    #[cfg(feature = "signal")]
    pub async fn run_until_signal(self) -> Result<Arc<RegistryStopReport>, crate::RunError> {
        self.inner.run_until_signal().await
    }
}

/// A started typed registry: derefs to its services (`running.db` is an `Arc<Database>`).
pub struct Running<R: Registry> {
    services: R::Services,
    inner: RunningRegistry,
}

impl<R: Registry> Deref for Running<R> {
    type Target = R::Services;
    fn deref(&self) -> &R::Services {
        &self.services
    }
}

impl<R: Registry> Running<R> {
    /// The erased running registry: health, states, events, graph, handle.
    pub fn registry(&self) -> &RunningRegistry {
        &self.inner
    }

    /// Graceful stop in reverse dependency order.
    pub async fn stop(self) -> Arc<RegistryStopReport> {
        self.inner.stop().await
    }

    /// Waits for SIGINT/SIGTERM (or an escalation), then stops gracefully.
    #[cfg(feature = "signal")]
    pub async fn run_until_signal(self) -> Result<Arc<RegistryStopReport>, crate::RunError> {
        self.inner.run_until_signal().await
    }
}
