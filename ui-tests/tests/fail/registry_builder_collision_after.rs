use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    db: Database,
}

/// The user's own type, named like the generated builder, written after the registry.
struct AppBuilder {}

fn main() {
    let _ = AppBuilder {};
}
