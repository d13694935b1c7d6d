use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    #[provide]
    db: Database,
}

fn main() {}
