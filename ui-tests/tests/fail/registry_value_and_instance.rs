use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    #[value]
    #[instance]
    db: Database,
}

fn main() {}
