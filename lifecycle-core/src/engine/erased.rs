//! The object-safe face of a [`Service`]: what the engine calls. Futures are boxed only for
//! hooks a service actually has (its `HAS_*` consts), and once: a derived service's hooks
//! (`Service::HOOKS`) already return boxed futures.

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::health::Health;
use crate::task::TaskSpawner;
use crate::{BoxError, Service};

pub(crate) trait ErasedService: Send + Sync + 'static {
    fn has_start_hook(&self) -> bool;
    fn has_stop_hook(&self) -> bool;
    fn has_health_check(&self) -> bool;
    fn has_reload_hook(&self) -> bool;
    fn reload_hook(&self) -> BoxFuture<'_, Result<(), BoxError>>;
    fn start_hook(&self) -> BoxFuture<'_, Result<(), BoxError>>;
    fn stop_hook(&self) -> BoxFuture<'_, Result<(), BoxError>>;
    fn health_check(&self) -> BoxFuture<'_, Health>;
    fn spawn_all(self: Arc<Self>, spawner: &mut TaskSpawner<'_>);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<S: Service> ErasedService for S {
    fn has_start_hook(&self) -> bool {
        S::HAS_START_HOOK
    }
    fn has_stop_hook(&self) -> bool {
        S::HAS_STOP_HOOK
    }
    fn has_health_check(&self) -> bool {
        S::HAS_HEALTH_CHECK
    }
    fn has_reload_hook(&self) -> bool {
        S::HAS_RELOAD_HOOK
    }
    fn reload_hook(&self) -> BoxFuture<'_, Result<(), BoxError>> {
        match S::HOOKS {
            Some(hooks) => (hooks.on_reload)(self),
            None => Box::pin(self.on_reload()),
        }
    }
    fn start_hook(&self) -> BoxFuture<'_, Result<(), BoxError>> {
        match S::HOOKS {
            Some(hooks) => (hooks.on_start)(self),
            None => Box::pin(self.on_start()),
        }
    }
    fn stop_hook(&self) -> BoxFuture<'_, Result<(), BoxError>> {
        match S::HOOKS {
            Some(hooks) => (hooks.on_stop)(self),
            None => Box::pin(self.on_stop()),
        }
    }
    fn health_check(&self) -> BoxFuture<'_, Health> {
        match S::HOOKS {
            Some(hooks) => (hooks.health)(self),
            None => Box::pin(self.health()),
        }
    }
    fn spawn_all(self: Arc<Self>, spawner: &mut TaskSpawner<'_>) {
        self.spawn_tasks(spawner);
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
