//! A plain value of the registry as a dependency.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

struct Config {
    url: String,
}

#[derive(Service)]
struct Database {
    #[depends_on]
    config: Arc<Config>,
}

#[derive(Registry)]
struct App {
    #[value]
    config: Config,
    db: Database,
}

fn main() {
    let built = App::builder()
        .config(Config {
            url: "sqlite::memory:".into(),
        })
        .build()
        .unwrap();
    assert_eq!(built.services().db.config.url, "sqlite::memory:");
}
