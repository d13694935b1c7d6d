use lifecycle_core::{Registry, Service};

trait Cache: Send + Sync {}

#[derive(Service)]
struct MemoryCache {}

#[derive(Registry)]
struct App {
    #[provide(dyn Cache)]
    cache: MemoryCache,
}

fn main() {}
