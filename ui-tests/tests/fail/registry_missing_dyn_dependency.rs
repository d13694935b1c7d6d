use std::sync::Arc;

use lifecycle_core::{Registry, Service};

trait Cache: Send + Sync {}

#[derive(Service)]
struct MemoryCache {}

impl Cache for MemoryCache {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    cache: Arc<dyn Cache>,
}

#[derive(Registry)]
struct App {
    cache: MemoryCache,
    repository: Repository,
}

fn main() {}
