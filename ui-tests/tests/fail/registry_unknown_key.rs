use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
#[registry(crat = lifecycle_core)]
struct App {
    db: Database,
}

fn main() {}
