use lifecycle_core::{Registry, Service};

trait Cache: Send + Sync {}

#[derive(Service)]
struct MemoryCache {}

impl Cache for MemoryCache {}

#[derive(Service)]
struct RedisCache {}

impl Cache for RedisCache {}

#[derive(Registry)]
struct App {
    #[provide(dyn Cache)]
    memory: MemoryCache,
    #[provide(dyn Cache)]
    redis: RedisCache,
}

fn main() {}
