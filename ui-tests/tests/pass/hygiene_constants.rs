//! Constants and unit structs named like every local, parameter and closure argument of the
//! expansions: a binding of that name would be a pattern matching the user's item (E0530).
//! Generated locals are mixed-site, so nothing here collides.
#![deny(warnings)]
#![allow(non_upper_case_globals, non_camel_case_types, dead_code)]

/// Every name, as a constant.
mod constants {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use lifecycle_core::{Health, Registry, Service, Shutdown};

    pub const cx: u8 = 0;
    pub const _cx: u8 = 0;
    pub const this: u8 = 0;
    pub const tasks: u8 = 0;
    pub const registry: u8 = 0;
    pub const services: u8 = 0;
    pub const slots: u8 = 0;
    pub const id: u8 = 0;
    pub const value: u8 = 0;
    pub const options: u8 = 0;
    pub const f: u8 = 0;
    pub const shutdown: u8 = 0;
    pub const lifecycle_output: u8 = 0;
    pub const lifecycle_shutdown: u8 = 0;
    pub const lifecycle_shared: u8 = 0;
    pub const lifecycle_concrete: u8 = 0;
    pub const field_db: u8 = 0;
    pub const field_cache: u8 = 0;
    pub const field_worker: u8 = 0;

    pub trait Cache: Send + Sync {}

    #[derive(Service, Default)]
    pub struct Database {}

    #[derive(Service, Default)]
    pub struct MemoryCache {}
    impl Cache for MemoryCache {}

    #[derive(Service)]
    #[service(tasks)]
    pub struct Worker {
        #[depends_on]
        pub db: Arc<Database>,
        #[depends_on]
        pub cache: Arc<dyn Cache>,
        pub runs: AtomicU32,
    }

    #[lifecycle_core::tasks]
    impl Worker {
        #[on_start]
        async fn connect(&self) -> std::io::Result<()> {
            Ok(())
        }

        #[on_stop]
        fn close(&self) {}

        #[health]
        async fn check(&self) -> Health {
            Health::Healthy
        }

        #[background_task(every = "1h")]
        async fn poll(&self, shutdown_handle: Shutdown) -> anyhow::Result<()> {
            if !shutdown_handle.is_cancelled() {
                self.runs.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }

        #[background_task(blocking)]
        fn crunch(&self, handle: Shutdown) {
            let _ = handle.is_cancelled();
        }

        #[background_task]
        async fn drop_me(&self) {}
    }

    #[derive(Registry)]
    pub struct App {
        pub db: Database,
        #[provide(dyn Cache)]
        pub cache: MemoryCache,
        pub worker: Worker,
    }
}

/// Every name, as a unit struct (a value and a type at once).
mod unit_structs {
    use std::sync::Arc;

    use lifecycle_core::{Registry, Service, Shutdown};

    pub struct cx;
    pub struct this;
    pub struct tasks;
    pub struct registry;
    pub struct services;
    pub struct slots;
    pub struct id;
    pub struct value;
    pub struct options;
    pub struct f;
    pub struct lifecycle_output;
    pub struct lifecycle_shutdown;
    pub struct field_db;
    pub struct field_worker;

    #[derive(Service, Default)]
    pub struct Database {}

    #[derive(Service)]
    #[service(tasks)]
    pub struct Worker {
        #[depends_on]
        pub db: Arc<Database>,
    }

    #[lifecycle_core::tasks]
    impl Worker {
        #[on_start]
        async fn connect(&self) {}

        #[background_task(every = "1h")]
        async fn poll(&self, handle: Shutdown) {
            let _ = handle.is_cancelled();
        }
    }

    #[derive(Registry)]
    pub struct App {
        pub db: Database,
        pub worker: Worker,
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let running = constants::App::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(running.worker.runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(running.stop().await.is_clean());

    let running = unit_structs::App::builder().build().unwrap().start().await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&running.worker.db, &running.db));
    assert!(running.stop().await.is_clean());
}
