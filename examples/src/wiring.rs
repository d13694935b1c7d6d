//! TEMPORARY hand-written lifecycle glue, used until `lifecycle-derive` lands: exactly what
//! `#[derive(Service)]`, `#[lifecycle_core::tasks]` and `#[derive(Registry)]` generate.

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{
    BoxError, BuildError, DynRegistry, Health, RegistryOptions, RegistryStopReport, Restart,
    RunningRegistry, Service, ServiceOptions, StartError, TaskSpawner, TaskSpec,
};

use crate::api::HttpApi;
use crate::cache::Cache;
use crate::config::AppConfig;
use crate::db::Database;
use crate::flags::FeatureFlags;
use crate::forecasts::Forecasts;
use crate::hub::WebSocketHub;
use crate::refresh::AutomatedRefresh;
use crate::scenarios::Scenarios;

fn dep<T: ?Sized + 'static>() -> lifecycle_core::Dependency {
    lifecycle_core::Dependency::of::<T>()
}

impl Service for Database {
    const NAME: &'static str = "Database";
    async fn on_start(&self) -> Result<(), BoxError> {
        Ok(self.open().await?)
    }
    async fn on_stop(&self) -> Result<(), BoxError> {
        Ok(self.close().await?)
    }
    async fn health(&self) -> Health {
        match self.ping().await {
            Ok(()) => Health::Healthy,
            Err(e) => Health::unhealthy(e.to_string()),
        }
    }
}

impl Service for Cache {
    const NAME: &'static str = "Cache";
    const HAS_START_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![dep::<AppConfig>()]
    }
    async fn on_stop(&self) -> Result<(), BoxError> {
        let n = self.clear();
        tracing::info!(entries = n, "cache cleared");
        Ok(())
    }
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let this = Arc::clone(self);
        tasks.spawn(
            TaskSpec::periodic("sweep", Duration::from_secs(10)),
            move |_| {
                let this = Arc::clone(&this);
                async move {
                    this.sweep();
                }
            },
        );
    }
}

impl Service for FeatureFlags {
    const NAME: &'static str = "FeatureFlags";
    const HAS_STOP_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![dep::<Database>()]
    }
    async fn on_start(&self) -> Result<(), BoxError> {
        Ok(self.load().await?)
    }
}

impl Service for WebSocketHub {
    const NAME: &'static str = "WebSocketHub";
    const HAS_START_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    async fn on_stop(&self) -> Result<(), BoxError> {
        let left = self.clear();
        tracing::info!(left, stats = ?self.stats(), "websocket hub stopped");
        Ok(())
    }
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let this = Arc::clone(self);
        tasks.spawn(
            TaskSpec::new("accept_sessions")
                .restart(Restart::OnFailure)
                .max_restarts(5, Duration::from_secs(60)),
            move |shutdown| {
                let this = Arc::clone(&this);
                async move { this.accept_sessions(shutdown).await }
            },
        );
        let this = Arc::clone(self);
        tasks.spawn(
            TaskSpec::periodic("heartbeat", crate::hub::HEARTBEAT),
            move |_| {
                let this = Arc::clone(&this);
                async move { this.heartbeat().await }
            },
        );
    }
}

impl Service for AutomatedRefresh {
    const NAME: &'static str = "AutomatedRefresh";
    const OPTIONS: ServiceOptions = ServiceOptions::DEFAULT.stop_timeout(Duration::from_secs(5));
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![
            dep::<Database>(),
            dep::<FeatureFlags>(),
            dep::<Cache>(),
            dep::<WebSocketHub>(),
            dep::<AppConfig>(),
        ]
    }
    async fn on_start(&self) -> Result<(), BoxError> {
        Ok(self.warm_up().await?)
    }
    async fn on_stop(&self) -> Result<(), BoxError> {
        self.flush().await;
        Ok(())
    }
    async fn health(&self) -> Health {
        AutomatedRefresh::health(self).await
    }
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let this = Arc::clone(self);
        tasks.spawn(
            TaskSpec::periodic("check_due", Duration::from_secs(30))
                .backoff(Duration::from_secs(1), Duration::from_secs(60)),
            move |shutdown| {
                let this = Arc::clone(&this);
                async move { this.check(&shutdown, false).await }
            },
        );
        let this = Arc::clone(self);
        tasks.spawn(
            TaskSpec::new("react")
                .restart(Restart::OnFailure)
                .max_restarts(5, Duration::from_secs(60)),
            move |shutdown| {
                let this = Arc::clone(&this);
                async move { this.react(shutdown).await }
            },
        );
    }
}

impl Service for Forecasts {
    const NAME: &'static str = "Forecasts";
    const HAS_START_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![dep::<Database>()]
    }
    async fn on_stop(&self) -> Result<(), BoxError> {
        let n = self.models.clear();
        tracing::info!(models = n, "model cache cleared");
        Ok(())
    }
}

impl Service for Scenarios {
    const NAME: &'static str = "Scenarios";
    const HAS_START_HOOK: bool = false;
    const HAS_STOP_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![dep::<Database>(), dep::<WebSocketHub>(), dep::<Forecasts>()]
    }
}

impl Service for HttpApi {
    const NAME: &'static str = "HttpApi";
    const HAS_STOP_HOOK: bool = false;
    const HAS_HEALTH_CHECK: bool = false;
    fn dependencies() -> Vec<lifecycle_core::Dependency> {
        vec![
            dep::<AppConfig>(),
            dep::<Database>(),
            dep::<Cache>(),
            dep::<FeatureFlags>(),
            dep::<AutomatedRefresh>(),
            dep::<WebSocketHub>(),
            dep::<Forecasts>(),
            dep::<Scenarios>(),
        ]
    }
    async fn on_start(&self) -> Result<(), BoxError> {
        Ok(self.bind().await?)
    }
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        let this = Arc::clone(self);
        tasks.spawn(
            TaskSpec::new("serve")
                .restart(Restart::OnFailure)
                .max_restarts(5, Duration::from_secs(60)),
            move |shutdown| {
                let this = Arc::clone(&this);
                async move { this.serve(shutdown).await }
            },
        );
    }
}

/// The services, each behind an `Arc` (what `PlatformServices` is with the derive).
pub struct PlatformServices {
    /// Config.
    pub config: Arc<AppConfig>,
    /// Database.
    pub db: Arc<Database>,
    /// Cache.
    pub cache: Arc<Cache>,
    /// Flags.
    pub flags: Arc<FeatureFlags>,
    /// Refresh.
    pub refresh: Arc<AutomatedRefresh>,
    /// Hub.
    pub hub: Arc<WebSocketHub>,
    /// Forecasts.
    pub forecasts: Arc<Forecasts>,
    /// Scenarios.
    pub scenarios: Arc<Scenarios>,
    /// API.
    pub api: Arc<HttpApi>,
}

/// Built, not started.
pub struct Built {
    services: PlatformServices,
    inner: lifecycle_core::BuiltRegistry,
}

/// Started.
pub struct Running {
    services: PlatformServices,
    inner: RunningRegistry,
}

impl std::ops::Deref for Running {
    type Target = PlatformServices;
    fn deref(&self) -> &PlatformServices {
        &self.services
    }
}

impl Built {
    /// Starts.
    pub async fn start(self) -> Result<Running, StartError> {
        let inner = self.inner.start().await?;
        Ok(Running {
            services: self.services,
            inner,
        })
    }
    /// The erased registry.
    pub fn registry(&self) -> &lifecycle_core::BuiltRegistry {
        &self.inner
    }
}

impl Running {
    /// The erased registry.
    pub fn registry(&self) -> &RunningRegistry {
        &self.inner
    }
    /// Graceful stop.
    pub async fn stop(self) -> Arc<RegistryStopReport> {
        self.inner.stop().await
    }
}

/// Builds the platform by hand.
pub fn build(
    config: AppConfig,
    db: Database,
    options: RegistryOptions,
) -> Result<Built, BuildError> {
    let config = Arc::new(config);
    let db = Arc::new(db);
    let cache = Arc::new(Cache::new(Arc::clone(&config)));
    let flags = Arc::new(FeatureFlags::new(Arc::clone(&db)));
    let hub = Arc::new(WebSocketHub::default());
    let refresh = Arc::new(AutomatedRefresh::new(
        Arc::clone(&db),
        Arc::clone(&flags),
        Arc::clone(&cache),
        Arc::clone(&hub),
        Arc::clone(&config),
    ));
    let forecasts = Arc::new(Forecasts::new(Arc::clone(&db)));
    let scenarios = Arc::new(Scenarios::new(
        Arc::clone(&db),
        Arc::clone(&hub),
        Arc::clone(&forecasts),
    ));
    let api = Arc::new(HttpApi {
        config: Arc::clone(&config),
        db: Arc::clone(&db),
        cache: Arc::clone(&cache),
        flags: Arc::clone(&flags),
        refresh: Arc::clone(&refresh),
        hub: Arc::clone(&hub),
        forecasts: Arc::clone(&forecasts),
        scenarios: Arc::clone(&scenarios),
        listener: Default::default(),
        local_addr: Default::default(),
        introspection: Default::default(),
    });
    let mut r = DynRegistry::with_options(options);
    r.add_value::<AppConfig>();
    r.add(Arc::clone(&db));
    r.add(Arc::clone(&cache));
    r.add(Arc::clone(&flags));
    r.add(Arc::clone(&refresh));
    r.add(Arc::clone(&hub));
    r.add(Arc::clone(&forecasts));
    r.add(Arc::clone(&scenarios));
    r.add(Arc::clone(&api));
    Ok(Built {
        inner: r.build()?,
        services: PlatformServices {
            config,
            db,
            cache,
            flags,
            refresh,
            hub,
            forecasts,
            scenarios,
            api,
        },
    })
}
