//! Type aliases in registry fields and `#[provide(…)]` keys, and two registries sharing
//! service types.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

trait Cache: Send + Sync {}

type DynCache = dyn Cache;
type Db = Database;

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct MemoryCache {}

impl Cache for MemoryCache {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    cache: Arc<dyn Cache>,
}

#[derive(Registry)]
struct Production {
    db: Db,
    #[provide(DynCache)]
    cache: MemoryCache,
    repository: Repository,
}

#[derive(Registry)]
struct Testing {
    db: Database,
    #[provide(dyn Cache)]
    cache: MemoryCache,
    repository: Repository,
}

fn main() {
    let production = Production::builder().build().unwrap();
    let testing = Testing::builder().build().unwrap();
    let _ = (
        &production.services().repository.cache,
        &testing.services().repository.db,
    );
}
