use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    primary: Database,
    replica: Database,
}

fn main() {}
