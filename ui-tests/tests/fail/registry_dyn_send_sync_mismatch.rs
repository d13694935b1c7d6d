use std::sync::Arc;

use lifecycle_core::{Registry, Service};

trait Cache {}

#[derive(Service)]
struct MemoryCache {}

impl Cache for MemoryCache {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    cache: Arc<dyn Cache + Send + Sync>,
}

#[derive(Registry)]
struct App {
    #[provide(dyn Cache)]
    cache: MemoryCache,
    repository: Repository,
}

fn main() {}
