use std::sync::Arc;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Cache<T: Default + Send + Sync + 'static> {
    value: T,
}

#[derive(Service)]
struct Repository {
    #[depends_on]
    cache: Arc<Cache<u8>>,
}

#[derive(Registry)]
struct App {
    cache: Cache<u16>,
    repository: Repository,
}

fn main() {}
