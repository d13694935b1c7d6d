use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user renamed the builder, to a name that is also taken.
struct Parts;

#[derive(Registry)]
#[registry(builder = Parts)]
struct App {
    db: Database,
}

fn main() {
    let _ = Parts;
}
