use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user's own trait, named like the generated builder (traits share the type namespace).
trait AppBuilder {}

#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {}
