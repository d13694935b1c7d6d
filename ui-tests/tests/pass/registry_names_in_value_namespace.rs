//! A function and a constant named like the generated builder and services struct: they live
//! in the value namespace, the generated types in the type namespace, so nothing collides.
#![allow(non_snake_case, non_upper_case_globals)]

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

/// The user's function, named like the generated builder.
fn AppBuilder() -> u32 {
    7
}

/// The user's constant, named like the generated services struct.
const AppServices: &str = "mine";

#[derive(Registry)]
struct App {
    #[instance]
    db: Database,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(AppBuilder(), 7);
    assert_eq!(AppServices, "mine");
    // The type names still reach the generated types.
    let builder: AppBuilder = App::builder().db(Database {});
    let running = builder.build().unwrap().start().await.unwrap();
    let services: &AppServices = &running;
    assert!(format!("{services:?}").starts_with("AppServices { db: "));
    assert_eq!(running.stop().await.stop_order(), ["Database"]);
}
