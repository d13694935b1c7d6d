use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
#[registry(builder = 5)]
struct App {
    db: Database,
}

fn main() {}
