use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
#[registry(bulder = AppParts)]
struct App {
    db: Database,
}

fn main() {}
