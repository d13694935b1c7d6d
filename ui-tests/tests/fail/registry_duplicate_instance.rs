use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    #[instance]
    primary: Database,
    #[instance]
    replica: Database,
}

fn main() {}
