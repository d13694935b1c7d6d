//! # lifecycle
//!
//! Declarative, compile-time checked lifecycles for async services on tokio.
//!
//! Derive [`Service`] on a struct, mark fields that are other services `#[depends_on]`, put
//! background tasks in a `#[lifecycle_core::tasks]` impl block, and compose the application
//! as a struct with `#[derive(Registry)]`. The registry starts services in dependency order
//! (independent ones concurrently), rolls back on failure, stops them in reverse within
//! deadlines, supervises their tasks, and never leaves a task behind.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use lifecycle_core::{Registry, Service, Shutdown};
//!
//! #[derive(Service, Default)]
//! struct Database {
//!     path: String,
//! }
//!
//! #[derive(Service)]
//! #[service(stop_timeout = "5s", tasks)]
//! struct AutomatedRefresh {
//!     #[depends_on]
//!     db: Arc<Database>,
//!     refreshed: std::sync::atomic::AtomicU32, // not a dependency: Default
//! }
//!
//! #[lifecycle_core::tasks]
//! impl AutomatedRefresh {
//!     #[on_start]
//!     async fn warm_up(&self) -> std::io::Result<()> {
//!         Ok(())
//!     }
//!
//!     /// Every 30 s; a failed run delays the next by the backoff. Stops at once on shutdown.
//!     #[background_task(every = "30s", backoff = "1s", max_backoff = "60s")]
//!     async fn refresh_due_views(&self, _shutdown: Shutdown) -> std::io::Result<()> {
//!         self.refreshed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         Ok(())
//!     }
//! }
//!
//! /// The application, checked at compile time: remove `db` and it does not compile.
//! #[derive(Registry)]
//! struct Platform {
//!     db: Database,
//!     refresh: AutomatedRefresh,
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let running = Platform::builder()
//!     .db(Database { path: "data/app.db".into() })
//!     .build()?          // wiring and cycles checked; nothing started yet
//!     .start()
//!     .await?;           // dependency order, independent services concurrently
//! tokio::time::sleep(Duration::from_secs(61)).await;
//! assert_eq!(running.refresh.refreshed.load(std::sync::atomic::Ordering::Relaxed), 3);
//! let report = running.stop().await; // reverse order, bounded
//! assert_eq!(report.stop_order(), ["AutomatedRefresh", "Database"]);
//! # Ok(()) }
//! ```
//!
//! Without macros, the same engine is driven by hand-written [`Service`] impls and a
//! [`DynRegistry`]:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use lifecycle_core::{BoxError, DynRegistry, Service, TaskSpawner, TaskSpec};
//!
//! struct Database;
//! impl Service for Database {
//!     const NAME: &'static str = "Database";
//!     async fn on_start(&self) -> Result<(), BoxError> { Ok(()) }
//! }
//!
//! struct Refresh;
//! impl Service for Refresh {
//!     const NAME: &'static str = "Refresh";
//!     const HAS_START_HOOK: bool = false;
//!     const HAS_STOP_HOOK: bool = false;
//!     fn dependencies() -> Vec<lifecycle_core::Dependency> {
//!         vec![lifecycle_core::Dependency::of::<Database>()]
//!     }
//!     fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
//!         // Runs every 30 s; stops at once when the service stops.
//!         tasks.spawn(TaskSpec::periodic("refresh", Duration::from_secs(30)), |_| async {});
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = DynRegistry::new();
//! registry.add(Arc::new(Database));
//! registry.add(Arc::new(Refresh));
//! let running = registry.build()?.start().await?;
//! let report = running.stop().await;
//! assert_eq!(report.stop_order(), ["Refresh", "Database"]);
//! # Ok(()) }
//! ```
//!
//! The [`guide`] walks through a first service, testing on virtual time, supervision,
//! administration and deployment. [`ops`] holds the integrations, each behind a cargo
//! feature: `axum` (Kubernetes probes), `systemd` (`Type=notify`, watchdog), `metrics`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

extern crate self as lifecycle_core;

mod control;
mod engine;
mod error;
pub mod events;
mod graph;
pub mod guide;
pub mod health;
mod macro_support;
pub mod ops;
mod registry;
mod render;
mod service;
#[cfg(feature = "signal")]
mod signal;
mod state;
pub mod task;
pub mod testing;

pub use control::StopReason;
pub use control::admin::{AdminAction, AdminError, AdminReport, ServiceRef};
pub use control::reload::{ReloadReport, ServiceReload};
pub use engine::{RegistryOptions, RegistryStopReport, ServiceTiming, StartupReport, StopReport};
pub use error::{
    BoxError, BuildError, InvalidTaskSpec, Panicked, Phase, RunError, ServiceError, StartError,
    TaskError, TimedOut, find_source,
};
pub use events::{Event, ServiceIndex};
pub use health::{Health, HealthReport, IntoHealth, ServiceHealth};
pub use registry::{
    Built, DynRegistry, FromRegistry, Provide, Registry, RegistryHandle, Resolver, Running,
    ServiceId, Slot,
};
pub use service::{Dependency, Escalation, Service, ServiceOptions, ServiceRestart};
pub use state::{State, StateCell};
pub use task::{
    Cancel, ChildError, ChildFailure, ChildHandle, ChildPolicy, OnExit, Restart, Shutdown,
    TaskOutcome, TaskSpawner, TaskSpec,
};
/// Re-exported from tokio-util: [`Built::start_until`] takes one.
pub use tokio_util::sync::CancellationToken;

#[cfg(feature = "derive")]
pub use lifecycle_derive::{
    Registry, Service, background_task, health, on_reload, on_start, on_stop, tasks,
};

/// Not public API: what the tasks macro implements. Re-exported here so a compile error about
/// it (two `#[lifecycle_core::tasks]` blocks for one type) names no private module.
#[doc(hidden)]
pub use macro_support::TaskBlock;

/// Not public API: the synchronous cores that `tests/loom.rs` models.
#[cfg(lifecycle_loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::control::handover::{Handover, Outcome, StopAction};
    pub use crate::engine::quiet::QuietClaim;
}

/// Not public API: what macro expansions call. May change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::macro_support::{
        DeclaresTasks, DefaultField, DependencyField, Hooks, ProvideField, RegistryService,
        Shareable, ShareableField, ShutdownParam, TaskBlock, add_service, assert_declares_tasks,
        assert_send, assert_shareable, assert_shareable_field,
    };
    pub use crate::macro_support::{
        GeneratedBuilder, GeneratedName, GeneratedServices, RegistryBuilder,
    };
    pub use crate::service::generic_name;
    pub use std::any::TypeId;
    pub use std::future::Future;
    pub use std::sync::Arc;
    pub use std::time::Duration;
    pub use tokio_util::sync::CancellationToken;
}
