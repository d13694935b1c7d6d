//! A module-level type named like the registry's hidden slots (`AppSlots`): the slots are
//! defined inside the expansion's anonymous `const` block, so the user's type is left alone.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Arc<Database>,
}

/// The user's own type, named like the generated slots.
struct AppSlots {
    count: usize,
}

#[derive(Registry)]
struct App {
    db: Database,
    repository: Repository,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let slots = AppSlots { count: 2 };
    let running = App::builder().build().unwrap().start().await.unwrap();
    // Built from its dependency: the repository holds the registry's database.
    assert!(Arc::ptr_eq(&running.repository.db, &running.db));
    let report = running.stop().await;
    assert_eq!(report.stop_order().len(), slots.count);
    assert_eq!(report.stop_order(), ["Repository", "Database"]);
}
