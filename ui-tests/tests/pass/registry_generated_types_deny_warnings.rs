//! The generated builder and services, named through their aliases from another module and
//! used in signatures, for a `pub` registry in a `pub mod` and for a registry declared in a
//! function body, under `#![deny(warnings)]` (no `dead_code`, `private_interfaces` or other
//! warning from the expansion).
#![deny(warnings)]

pub mod app {
    use lifecycle_core::{Registry, Service};

    /// A service.
    #[derive(Service)]
    pub struct Database {}

    /// A public registry.
    #[derive(Registry)]
    pub struct App {
        /// Given to the builder.
        #[instance]
        pub db: Database,
        /// A value.
        #[value]
        pub port: u16,
    }
}

use app::{App, AppBuilder, AppServices, Database};

/// The builder type is nameable outside the registry's module.
fn configure(builder: AppBuilder) -> AppBuilder {
    builder.db(Database {}).port(8080)
}

/// So is the services struct.
fn port(services: &AppServices) -> u16 {
    *services.port
}

/// Methods are added to the generated builder through a trait (an alias of a generated type
/// takes no inherent `impl`).
pub trait WithDefaults {
    /// The database, and port 8080.
    fn with_defaults(self) -> Self;
}

impl WithDefaults for AppBuilder {
    fn with_defaults(self) -> Self {
        configure(self)
    }
}

/// Trait impls on the services struct, through its alias.
impl std::fmt::Display for AppServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "app on port {}", self.port)
    }
}

async fn local_registry() -> usize {
    use lifecycle_core::{Registry, Service};

    #[derive(Service)]
    struct Cache {}

    #[derive(Registry)]
    struct Local {
        cache: Cache,
    }

    let builder: LocalBuilder = Local::builder();
    let running = builder.build().unwrap().start().await.unwrap();
    let services: &LocalServices = &running;
    let _ = &services.cache;
    running.stop().await.stop_order().len()
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let builder = App::builder().with_defaults();
    assert!(format!("{builder:?}").starts_with("AppBuilder { db: true, port: true"));
    let running = builder.build().unwrap().start().await.unwrap();
    assert_eq!(port(&running), 8080);
    assert_eq!(running.to_string(), "app on port 8080");
    assert!(format!("{:?}", *running).starts_with("AppServices { db: "));
    assert_eq!(running.stop().await.stop_order(), ["Database"]);
    assert_eq!(local_registry().await, 1);
}
