use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user's own generic type, named like the generated builder: the check infers its
/// parameter instead of suggesting to add one to the registry.
struct AppBuilder<T>(T);

#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {
    let _ = AppBuilder(1);
}
