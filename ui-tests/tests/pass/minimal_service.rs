//! The smallest service and registry.

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {
    let built = App::builder().build().unwrap();
    let _ = built.services().db.clone();
}
