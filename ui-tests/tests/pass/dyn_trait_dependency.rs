//! A dependency on a trait object, provided by a field with `#[provide(dyn Trait)]`.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

trait Cache: Send + Sync {
    fn get(&self) -> u32;
}

trait Metrics: Send + Sync {}

#[derive(Service)]
struct MemoryCache {}

impl Cache for MemoryCache {
    fn get(&self) -> u32 {
        7
    }
}

impl Metrics for MemoryCache {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    cache: Arc<dyn Cache>,
    #[depends_on]
    metrics: Arc<dyn Metrics + Send + Sync>,
}

#[derive(Registry)]
struct App {
    #[provide(dyn Cache, dyn Metrics + Send + Sync)]
    cache: MemoryCache,
    repository: Repository,
}

fn main() {
    let built = App::builder().build().unwrap();
    assert_eq!(built.services().repository.cache.get(), 7);
    let _ = &built.services().repository.metrics;
}
