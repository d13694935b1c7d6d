//! The expansions under allow-by-default lints that users commonly deny.
#![deny(
    warnings,
    rust_2018_idioms,
    unused_qualifications,
    unused_results,
    trivial_casts,
    trivial_numeric_casts,
    unreachable_pub,
    single_use_lifetimes,
    unused_lifetimes,
    missing_debug_implementations,
    missing_copy_implementations,
    unused_import_braces,
    let_underscore_drop,
    unit_bindings,
    redundant_lifetimes,
    elided_lifetimes_in_paths,
    explicit_outlives_requirements,
    macro_use_extern_crate,
    meta_variable_misuse,
    non_ascii_idents,
    unnameable_types,
    variant_size_differences
)]

use std::sync::Arc;

use lifecycle_core::{Health, Registry, Service, Shutdown};

#[derive(Debug, Service)]
struct Database {}

trait Cache: Send + Sync {}

impl Cache for Database {}

#[derive(Debug, Service)]
#[service(tasks, stop_timeout = "1s")]
struct Worker {
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    cache: Arc<dyn Cache>,
    #[service(default = 3)]
    retries: u32,
}

impl std::fmt::Debug for dyn Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cache")
    }
}

#[lifecycle_core::tasks]
impl Worker {
    #[on_start]
    async fn connect(&self) -> std::io::Result<()> {
        let _unused = (&self.db, &self.cache, self.retries);
        Ok(())
    }

    #[on_stop]
    fn flush(&self) {}

    #[health]
    async fn check(&self) -> Health {
        Health::Healthy
    }

    #[background_task(every = "1s", restart = "on_failure", max_restarts = 3)]
    async fn poll(&self, _shutdown: Shutdown) -> Result<(), &'static str> {
        Ok(())
    }

    #[background_task(blocking)]
    fn crunch(&self) {}
}

#[derive(Registry)]
struct App {
    #[provide(dyn Cache)]
    db: Database,
    worker: Worker,
}

fn main() {
    let _built = App::builder().build();
}
