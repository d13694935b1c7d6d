use std::sync::Arc;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Arc<Database>,
}

#[derive(Registry)]
struct App {
    repository: Repository,
}

fn main() {}
