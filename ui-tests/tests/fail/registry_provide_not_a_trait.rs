use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct MemoryCache {}

#[derive(Registry)]
struct App {
    #[provide(String)]
    cache: MemoryCache,
}

fn main() {}
