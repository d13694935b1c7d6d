use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

type Replica = Database;

#[derive(Registry)]
struct App {
    primary: Database,
    replica: Replica,
}

fn main() {}
