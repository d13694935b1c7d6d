//! A `pub` registry over private services in a binary, under `#![deny(warnings)]`.
#![deny(warnings)]

mod app {
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
    pub struct App {
        db: Database,
        repository: Repository,
    }

    pub fn build() {
        let built = App::builder().build().unwrap();
        let _ = &built.services().repository.db;
    }
}

fn main() {
    app::build();
}
