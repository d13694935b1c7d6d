use std::sync::Arc;

use lifecycle_core::Service;

#[derive(Service)]
struct Config {}

#[derive(Service)]
struct Database {
    #[depends_on]
    #[service(default = Arc::new(Config {}))]
    config: Arc<Config>,
}

fn main() {}
