use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user's own type, named like the generated builder.
struct AppBuilder {}

#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {
    let _ = AppBuilder {};
}
