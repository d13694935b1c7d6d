//! The typed registry machinery (`Registry`, `Provide`, `FromRegistry`, `Resolver`) used by
//! hand, as `#[derive(Registry)]` generates it: construction from dependencies, supplied
//! instances, trait-object keys, plain values, and cycles reported with their path.

use std::sync::Arc;

use lifecycle_core::{
    BuildError, Built, Dependency, DynRegistry, FromRegistry, Provide, Registry, Resolver, Service,
    Slot, State,
};

trait Cache: Send + Sync {
    fn get(&self) -> u32;
}

#[derive(Default)]
struct Db {
    path: String,
}
impl Service for Db {
    const NAME: &'static str = "Db";
}
impl<R: Registry> FromRegistry<R> for Db {
    fn from_registry(_: &mut Resolver<R>) -> Result<Self, BuildError> {
        Ok(Db::default())
    }
}

struct MemoryCache;
impl Cache for MemoryCache {
    fn get(&self) -> u32 {
        7
    }
}
impl Service for MemoryCache {
    const NAME: &'static str = "MemoryCache";
}
impl<R: Registry> FromRegistry<R> for MemoryCache {
    fn from_registry(_: &mut Resolver<R>) -> Result<Self, BuildError> {
        Ok(MemoryCache)
    }
}

struct Config(u32);

struct Api {
    db: Arc<Db>,
    cache: Arc<dyn Cache>,
    config: Arc<Config>,
}
impl Service for Api {
    const NAME: &'static str = "Api";
    fn dependencies() -> Vec<Dependency> {
        vec![
            Dependency::of::<Db>(),
            Dependency::of::<dyn Cache>(),
            Dependency::of::<Config>(),
        ]
    }
}
impl<R: Registry + Provide<Db> + Provide<dyn Cache> + Provide<Config>> FromRegistry<R> for Api {
    fn from_registry(cx: &mut Resolver<R>) -> Result<Self, BuildError> {
        Ok(Api {
            db: cx.get()?,
            cache: cx.get()?,
            config: cx.get()?,
        })
    }
}

/// What `#[derive(Registry)] struct App { #[value] config: Config, db: Db,
/// #[provide(dyn Cache)] cache: MemoryCache, api: Api }` expands to, in essence.
struct App;
#[derive(Default)]
struct AppSlots {
    config: Slot<Config>,
    db: Slot<Db>,
    cache: Slot<MemoryCache>,
    api: Slot<Api>,
}
struct AppServices {
    db: Arc<Db>,
    api: Arc<Api>,
}
impl Registry for App {
    const NAME: &'static str = "App";
    type Slots = AppSlots;
    type Services = AppServices;
}
impl Provide<Config> for App {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<Config>, BuildError> {
        cx.resolve(
            "config",
            |s| &mut s.config,
            |_| Err(Resolver::<App>::missing_instance("config")),
        )
    }
}
impl Provide<Db> for App {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<Db>, BuildError> {
        cx.resolve("db", |s| &mut s.db, Db::from_registry)
    }
}
impl Provide<MemoryCache> for App {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<MemoryCache>, BuildError> {
        cx.resolve("cache", |s| &mut s.cache, MemoryCache::from_registry)
    }
}
impl Provide<dyn Cache> for App {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<dyn Cache>, BuildError> {
        let cache: Arc<MemoryCache> = cx.get()?;
        Ok(cache)
    }
}
impl Provide<Api> for App {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<Api>, BuildError> {
        cx.resolve("api", |s| &mut s.api, Api::from_registry)
    }
}

fn build(config: Option<Config>, db: Option<Db>) -> Result<Built<App>, BuildError> {
    let mut cx = Resolver::<App>::new(AppSlots {
        config: config.into(),
        db: db.into(),
        ..AppSlots::default()
    });
    let api: Arc<Api> = cx.get()?;
    let db: Arc<Db> = cx.get()?;
    let cache: Arc<MemoryCache> = cx.get()?;
    let mut graph = DynRegistry::new();
    graph.add_value::<Config>();
    graph.add(Arc::clone(&db));
    let cache_id = graph.add(cache);
    graph.provide::<dyn Cache, _>(cache_id)?;
    graph.add(Arc::clone(&api));
    Ok(Built::new(AppServices { db, api }, graph.build()?))
}

#[tokio::test(start_paused = true)]
async fn typed_registry_builds_shares_and_starts_in_order() {
    let built = build(
        Some(Config(3)),
        Some(Db {
            path: "x.db".into(),
        }),
    )
    .unwrap();
    assert!(
        Arc::ptr_eq(&built.services().api.db, &built.services().db),
        "one shared Db"
    );
    assert_eq!(built.services().db.path, "x.db", "supplied instance used");
    assert_eq!(built.services().api.cache.get(), 7);
    assert_eq!(built.services().api.config.0, 3);
    let running = built.start().await.unwrap();
    assert_eq!(
        running
            .states()
            .iter()
            .filter(|(_, s)| *s == State::Running)
            .count(),
        3
    );
    let report = running.stop().await;
    assert_eq!(report.stop_order().first(), Some(&"Api"));
}

#[test]
fn missing_instance_is_a_build_error_naming_the_field() {
    let err = build(None, None).err().unwrap();
    assert_eq!(
        err,
        BuildError::MissingInstance {
            registry: "App",
            field: "config"
        }
    );
    assert!(err.to_string().contains(".config("), "{err}");
}

// A cycle: Ping needs Pong needs Ping.
struct Ping(#[allow(dead_code)] Arc<Pong>);
struct Pong(#[allow(dead_code)] Arc<Ping>);
struct Loop;
#[derive(Default)]
struct LoopSlots {
    ping: Slot<Ping>,
    pong: Slot<Pong>,
}
impl Registry for Loop {
    const NAME: &'static str = "Loop";
    type Slots = LoopSlots;
    type Services = ();
}
impl Provide<Ping> for Loop {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<Ping>, BuildError> {
        cx.resolve("ping", |s| &mut s.ping, |cx| Ok(Ping(cx.get()?)))
    }
}
impl Provide<Pong> for Loop {
    fn provide(cx: &mut Resolver<Self>) -> Result<Arc<Pong>, BuildError> {
        cx.resolve("pong", |s| &mut s.pong, |cx| Ok(Pong(cx.get()?)))
    }
}

#[test]
fn construction_cycle_is_reported_with_its_path() {
    let mut cx = Resolver::<Loop>::new(LoopSlots::default());
    let err = cx.get::<Ping>().err().unwrap();
    assert_eq!(
        err,
        BuildError::Cycle {
            path: vec!["ping".into(), "pong".into(), "ping".into()]
        }
    );
}
