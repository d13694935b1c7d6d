//! `DynRegistry`: services added at run time (many instances of one type, plugins).

use std::any::TypeId;
use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::{Engine, ErasedService, Graph, Node, RegistryOptions};
use crate::events::ServiceIndex;
use crate::{BuildError, Built, Dependency, Service, ServiceOptions};

static NEXT_REGISTRY_ID: AtomicU64 = AtomicU64::new(1);

/// A service added to a [`DynRegistry`]; use it for edges and to get the service back.
pub struct ServiceId<S: ?Sized = ()> {
    index: ServiceIndex,
    registry: u64,
    _service: PhantomData<fn() -> Arc<S>>,
}

impl<S: ?Sized> Clone for ServiceId<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S: ?Sized> Copy for ServiceId<S> {}
impl<S: ?Sized> std::fmt::Debug for ServiceId<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceId({})", self.index)
    }
}

impl<S: ?Sized> ServiceId<S> {
    /// The service's index: registration order, as in [`Event`](crate::Event)s.
    pub fn index(&self) -> ServiceIndex {
        self.index
    }

    pub(crate) fn registry(&self) -> u64 {
        self.registry
    }

    /// Forgets the type.
    pub fn erase(self) -> ServiceId {
        ServiceId {
            index: self.index,
            registry: self.registry,
            _service: PhantomData,
        }
    }
}

struct Entry {
    name: Cow<'static, str>,
    service: Arc<dyn ErasedService>,
    options: ServiceOptions,
    /// Its own type and any `provide`d keys: inline, no allocation for the usual one.
    keys: smallvec::SmallVec<[TypeId; 2]>,
    declared: Vec<Dependency>,
    explicit: Vec<ServiceIndex>,
}

/// A registry assembled at run time. Missing dependencies and cycles are errors of
/// [`build`](Self::build) that name the path.
///
/// ```
/// use std::sync::Arc;
/// use lifecycle_core::{DynRegistry, Service};
///
/// struct Db;
/// impl Service for Db { const NAME: &'static str = "Db"; }
/// struct Worker;
/// impl Service for Worker { const NAME: &'static str = "Worker"; }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut registry = DynRegistry::new();
/// let db = registry.add(Arc::new(Db));
/// for n in 0..3 {
///     let worker = registry.add_named(format!("worker-{n}"), Arc::new(Worker));
///     registry.depends_on(worker, db)?;
/// }
/// let running = registry.build()?.start().await?;
/// assert_eq!(running.stop().await.stop_order().last(), Some(&"Db"));
/// # Ok(()) }
/// ```
pub struct DynRegistry {
    id: u64,
    entries: Vec<Entry>,
    values: Vec<TypeId>,
    options: RegistryOptions,
}

impl Default for DynRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl DynRegistry {
    /// An empty registry with default options.
    pub fn new() -> Self {
        Self::with_options(RegistryOptions::default())
    }

    /// An empty registry with `options`.
    pub fn with_options(options: RegistryOptions) -> Self {
        Self {
            id: NEXT_REGISTRY_ID.fetch_add(1, Ordering::Relaxed),
            entries: Vec::new(),
            values: Vec::new(),
            options,
        }
    }

    /// Replaces the registry options.
    pub fn set_options(&mut self, options: RegistryOptions) -> &mut Self {
        self.options = options;
        self
    }

    /// Adds a service under its type's name ([`Service::name`]). Its declared dependencies are wired to the one
    /// service (or value) of that type, unless you give explicit edges.
    pub fn add<S: Service>(&mut self, service: Arc<S>) -> ServiceId<S> {
        self.add_named(S::name(), service)
    }

    /// Adds a service under `name` (for many instances of one type). Names must be unique:
    /// [`build`](Self::build) reports a duplicate.
    pub fn add_named<S: Service>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        service: Arc<S>,
    ) -> ServiceId<S> {
        let index = self.entries.len() as ServiceIndex;
        self.entries.push(Entry {
            name: name.into(),
            service,
            options: S::OPTIONS,
            keys: smallvec::smallvec![TypeId::of::<S>()],
            declared: S::dependencies(),
            explicit: Vec::new(),
        });
        ServiceId {
            index,
            registry: self.id,
            _service: PhantomData,
        }
    }

    /// Overrides a service's options.
    pub fn set_service_options<S: ?Sized>(
        &mut self,
        id: ServiceId<S>,
        options: ServiceOptions,
    ) -> Result<&mut Self, BuildError> {
        self.entry(id.erase())?.options = options;
        Ok(self)
    }

    /// Lets `id` satisfy dependencies on `K` too (typically `dyn Trait`).
    pub fn provide<K: ?Sized + 'static, S: ?Sized>(
        &mut self,
        id: ServiceId<S>,
    ) -> Result<&mut Self, BuildError> {
        self.entry(id.erase())?.keys.push(TypeId::of::<K>());
        Ok(self)
    }

    /// Registers a plain value type: dependencies on `T` are satisfied, with no lifecycle.
    pub fn add_value<T: ?Sized + 'static>(&mut self) -> &mut Self {
        self.values.push(TypeId::of::<T>());
        self
    }

    /// `dependent` starts after, and stops before, `dependency`.
    pub fn depends_on<A: ?Sized, B: ?Sized>(
        &mut self,
        dependent: ServiceId<A>,
        dependency: ServiceId<B>,
    ) -> Result<&mut Self, BuildError> {
        let dependency = self.check(dependency.erase())?;
        self.entry(dependent.erase())?.explicit.push(dependency);
        Ok(self)
    }

    fn check(&self, id: ServiceId) -> Result<ServiceIndex, BuildError> {
        if id.registry != self.id || id.index as usize >= self.entries.len() {
            return Err(BuildError::UnknownService {
                id: id.index as usize,
            });
        }
        Ok(id.index)
    }

    fn entry(&mut self, id: ServiceId) -> Result<&mut Entry, BuildError> {
        let index = self.check(id)?;
        Ok(&mut self.entries[index as usize])
    }

    /// Resolves dependencies, checks for cycles and builds the engine. Nothing starts yet.
    pub fn build(self) -> Result<Built<DynRegistry>, BuildError> {
        let mut names = rustc_hash::FxHashSet::default();
        names.reserve(self.entries.len());
        if let Some(duplicate) = self.entries.iter().find(|e| !names.insert(&e.name)) {
            return Err(BuildError::DuplicateName {
                name: duplicate.name.to_string(),
            });
        }
        let mut adjacency: Vec<Vec<ServiceIndex>> = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let mut deps = entry.explicit.clone();
            for dependency in &entry.declared {
                let covered = entry
                    .explicit
                    .iter()
                    .any(|&e| self.entries[e as usize].keys.contains(&dependency.type_id));
                if covered || self.values.contains(&dependency.type_id) {
                    continue;
                }
                let mut providers = self
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.keys.contains(&dependency.type_id));
                match (providers.next(), providers.count()) {
                    (Some((i, _)), 0) => deps.push(i as ServiceIndex),
                    (None, _) => {
                        return Err(BuildError::MissingDependency {
                            service: entry.name.to_string(),
                            dependency: dependency.type_name.to_owned(),
                        });
                    }
                    (Some(_), more) => {
                        return Err(BuildError::AmbiguousDependency {
                            service: entry.name.to_string(),
                            dependency: dependency.type_name.to_owned(),
                            count: more + 1,
                        });
                    }
                }
            }
            deps.sort_unstable();
            deps.dedup();
            adjacency.push(deps);
        }
        let graph = Graph::from_adjacency(&adjacency);
        if let Some(cycle) = graph.find_cycle() {
            return Err(BuildError::Cycle {
                path: cycle
                    .iter()
                    .map(|&i| self.entries[i as usize].name.to_string())
                    .collect(),
            });
        }
        let nodes = self
            .entries
            .into_iter()
            .map(|e| Node::new(e.name, e.service, e.options))
            .collect();
        let engine = Arc::new(Engine::new(nodes, graph, self.options));
        Ok(Built::from_engine((), engine, self.id))
    }
}

impl crate::Registry for DynRegistry {
    const NAME: &'static str = "DynRegistry";
    type Slots = ();
    /// A `DynRegistry`'s services are reached through their [`ServiceId`]s.
    type Services = ();
}
