use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App<T> {
    db: Database,
    extra: T,
}

fn main() {}
