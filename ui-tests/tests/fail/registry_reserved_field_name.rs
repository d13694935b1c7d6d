use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    build: Database,
}

fn main() {}
