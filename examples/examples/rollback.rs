//! A dependency graph whose start fails half-way: what had started is stopped again in
//! reverse order, what depends on the failed service never starts, and the error names the
//! service, the phase and the cause. The original started services one by one and left the
//! started ones running when a later one failed.
//!
//! `cargo run -p lifecycle-examples --example rollback`

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::testing::Recorder;
use lifecycle_core::{Registry, RegistryOptions, Service, State};

/// A value: plain configuration, no lifecycle.
struct Settings {
    index_path: &'static str,
}

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    async fn connect(&self) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        println!("  Database: connected");
    }
    #[on_stop]
    async fn disconnect(&self) {
        println!("  Database: disconnected (rollback)");
    }
}

#[derive(Service)]
#[service(tasks)]
struct Cache {}

#[lifecycle_core::tasks]
impl Cache {
    #[on_start]
    fn warm(&self) {
        println!("  Cache: warmed (starts alongside the database: no dependency between them)");
    }
    #[on_stop]
    fn clear(&self) {
        println!("  Cache: cleared (rollback)");
    }
}

#[derive(Debug, thiserror::Error)]
#[error("search index missing at {0}")]
struct IndexMissing(String);

#[derive(Service)]
#[service(tasks)]
struct Search {
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    settings: Arc<Settings>,
}

#[lifecycle_core::tasks]
impl Search {
    #[on_start]
    async fn load_index(&self) -> Result<(), IndexMissing> {
        let _ = &self.db;
        Err(IndexMissing(self.settings.index_path.to_owned()))
    }
}

/// Depends on the failing service: never started here.
#[derive(Service)]
#[allow(dead_code)] // its dependencies are only used for ordering in this example
struct Api {
    #[depends_on]
    search: Arc<Search>,
    #[depends_on]
    cache: Arc<Cache>,
}

#[derive(Registry)]
struct App {
    #[value]
    settings: Settings,
    db: Database,
    cache: Cache,
    search: Search,
    api: Api,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let recorder = Recorder::new();
    let built = App::builder()
        .settings(Settings {
            index_path: "/var/lib/search/index",
        })
        .options(recorder.attach(RegistryOptions::default()))
        .build()?;
    println!("{}", built.to_mermaid());
    println!("starting:");
    let Err(error) = built.start().await else {
        panic!("the search index is missing: start must fail");
    };
    println!("\nerror: {error}");
    println!(
        "  service: {}, phase: {}",
        error.error.service, error.error.phase
    );
    let rolled_back: Vec<&str> = error.rollback.iter().map(|r| &*r.service).collect();
    println!("  rolled back (stop order): {}", rolled_back.join(" -> "));
    for name in ["Database", "Cache", "Search", "Api"] {
        println!(
            "  {name:<8} went through {:?}",
            recorder.transitions_of(name)
        );
    }
    assert_eq!(error.error.service, "Search");
    assert_eq!(
        recorder.transitions_of("Search").last(),
        Some(&State::Failed)
    );
    assert!(recorder.transitions_of("Api").is_empty(), "never started");
    assert_eq!(
        recorder.transitions_of("Database").last(),
        Some(&State::Stopped)
    );
    lifecycle_core::testing::assert_no_tasks_alive().await;
    Ok(())
}
