use std::sync::Arc;

use lifecycle_core::Service;

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Repository {
    #[depends_on = "db"]
    db: Arc<Database>,
}

fn main() {}
