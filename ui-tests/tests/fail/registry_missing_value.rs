use std::sync::Arc;

use lifecycle_core::{Registry, Service};

struct Config {
    _url: String,
}

#[derive(Service)]
struct Database {
    #[depends_on]
    config: Arc<Config>,
}

#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {}
