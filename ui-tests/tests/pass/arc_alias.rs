//! `#[depends_on]` through type aliases of `Arc`.

use lifecycle_core::{Registry, Service};

type Shared<T> = std::sync::Arc<T>;
type SharedDatabase = Shared<Database>;

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Config {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: SharedDatabase,
    #[depends_on]
    config: Shared<Config>,
}

#[derive(Registry)]
struct App {
    db: Database,
    config: Config,
    repository: Repository,
}

fn main() {
    let _ = App::builder().build().unwrap();
}
