use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user's own type, named like the generated services struct.
struct AppServices {
    count: usize,
}

#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {
    let services = AppServices { count: 1 };
    assert_eq!(services.count, 1);
}
