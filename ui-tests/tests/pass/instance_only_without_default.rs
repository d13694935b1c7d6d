//! A derived service that is only ever given as an `#[instance]` does not need `Default` for
//! its non-dependency fields.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

/// No `Default`.
struct Connection {
    url: String,
}

#[derive(Service)]
struct Database {
    connection: Connection,
}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Arc<Database>,
}

#[derive(Registry)]
struct App {
    #[instance]
    db: Database,
    repository: Repository,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let db = Database { connection: Connection { url: "sqlite::memory:".into() } };
    let running = App::builder().db(db).build().unwrap().start().await.unwrap();
    assert_eq!(running.repository.db.connection.url, "sqlite::memory:");
    assert!(Arc::ptr_eq(&running.repository.db, &running.db));
    assert_eq!(running.stop().await.stop_order(), ["Repository", "Database"]);
}
