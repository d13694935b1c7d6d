//! A user type named like a generated one (`AppBuilder`) next to `#[derive(Registry)] struct
//! App`: `#[registry(builder = …, services = …)]` renames the generated types.

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user's own type, which the default builder name would collide with.
struct AppBuilder {
    url: &'static str,
}

/// Also the user's.
struct AppServices;

#[derive(Registry)]
#[registry(builder = AppParts, services = "AppShared")]
struct App {
    #[instance]
    db: Database,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let own = AppBuilder { url: "x" };
    let _ = AppServices;
    let builder: AppParts = App::builder().db(Database {});
    let running = builder.build().unwrap().start().await.unwrap();
    let shared: &AppShared = &running;
    let _ = &shared.db;
    assert_eq!(own.url, "x");
    assert_eq!(running.stop().await.stop_order(), ["Database"]);
}
