//! Procedural macros for `lifecycle-core`. Depend on `lifecycle-core`, which re-exports them
//! (feature `derive`, on by default); the examples below use those re-exports.
//!
//! * [`macro@Service`] describes one service: its name, options and `#[depends_on]` fields.
//! * [`macro@tasks`] turns an impl block's `#[on_start]`, `#[on_stop]`, `#[on_reload]`,
//!   `#[health]` and `#[background_task]` methods into the service's hooks and supervised tasks.
//! * [`macro@Registry`] composes services and values into an application whose wiring is
//!   checked at compile time.
//!
//! Generated code only describes; all behaviour lives in `lifecycle-core`. Errors in attributes
//! are reported together, each at the offending tokens.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod common;
mod duration;
mod options;
mod registry;
mod service;
mod tasks;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Implements `lifecycle_core::Service` and `lifecycle_core::FromRegistry` for a struct with
/// named fields.
///
/// ```
/// use std::sync::Arc;
/// use lifecycle_core::{Registry, Service};
///
/// # #[derive(Service)] struct Database {}
/// # #[derive(Default)] struct RefreshConfig { every_secs: u64 }
/// pub trait Cache: Send + Sync {}
/// # #[derive(Service, Default)] struct MemoryCache {}
/// # impl Cache for MemoryCache {}
/// #[derive(Service)]
/// #[service(stop_timeout = "5s", start_timeout = "10s", hook_timeout = "2s")]
/// struct Refresh {
///     #[depends_on] db: Arc<Database>,          // a service of the registry
///     #[depends_on] cache: Arc<dyn Cache>,      // a `#[provide(dyn Cache)]` key
///     #[depends_on] config: Arc<RefreshConfig>, // a `#[value]` of the registry
///     stats: tokio::sync::Mutex<u64>,           // `Default::default()`
///     #[service(default = 3)] retries: u32,     // any expression
/// }
///
/// #[derive(Registry)]
/// struct Platform {
///     #[value] config: RefreshConfig,
///     db: Database,
///     #[provide(dyn Cache)] cache: MemoryCache,
///     refresh: Refresh,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let built = Platform::builder().config(RefreshConfig::default()).build()?;
/// assert_eq!(built.services().refresh.retries, 3);
/// assert_eq!(<Refresh as Service>::OPTIONS.stop_timeout, std::time::Duration::from_secs(5));
/// let running = built.start().await?;
/// assert_eq!(running.stop().await.stop_order(), ["Refresh", "MemoryCache", "Database"]);
/// # Ok(()) }
/// ```
///
/// # Struct options, `#[service(…)]`
///
/// * `name = "…"`: the name in logs, reports and errors (default: the type's name).
/// * `start_timeout = "30s"`: bound on `#[on_start]` (default 30 s); `"none"` waits forever.
/// * `stop_timeout = "5s"`: how long tasks get to finish after cancellation before they are
///   aborted (default 5 s; `"0s"` aborts at once).
/// * `hook_timeout = "5s"`: bound on `#[on_stop]` (default 5 s).
/// * `escalation = "shutdown_registry" | "stop_dependents"`: what a failure past the restart
///   policy does (default: shut the registry down).
/// * `restart = "never" | "on_failure"`: the service-level restart policy (default `"never"`).
///   With `"on_failure"`, a task failing past its own policy restarts the service with its
///   transitive dependents (stop them, wait the backoff, start them again) before the
///   `escalation` applies; a restart that fails to start counts as the next failure.
/// * `max_restarts = 3, within = "60s"`: at most this many service restarts within the window;
///   the next failure escalates (defaults 3 and 60 s; need `restart = "on_failure"`).
/// * `backoff = "1s", max_backoff = "60s"`: the delay before a service restart, doubled per
///   consecutive restart up to the cap (defaults 1 s and 60 s; need `restart = "on_failure"`).
/// * `ready_in_backoff = true`: the service counts as ready while every one of its tasks waits
///   in a restart backoff (default `false`).
/// * `tasks`: the type has a [`#[lifecycle_core::tasks]`](macro@tasks) impl block with its
///   hooks and tasks. Forgetting either side is a compile error saying what to add.
/// * `crate = path`: where `lifecycle_core` is, if renamed or re-exported.
///
/// ```
/// use lifecycle_core::{Escalation, Service};
///
/// mod reexported { pub use lifecycle_core as lc; }
///
/// #[derive(Service)]
/// #[service(name = "billing", start_timeout = "none", escalation = "stop_dependents",
///           crate = reexported::lc)]
/// struct Billing {}
///
/// assert_eq!(Billing::NAME, "billing");
/// assert_eq!(Billing::OPTIONS.start_timeout, None);
/// assert_eq!(Billing::OPTIONS.escalation, Escalation::StopDependents);
/// ```
///
/// A service-level restart policy, then the escalation once it is exhausted:
///
/// ```
/// use std::time::Duration;
/// use lifecycle_core::{Service, ServiceRestart};
///
/// #[derive(Service)]
/// #[service(restart = "on_failure", max_restarts = 5, within = "1m", backoff = "500ms",
///           max_backoff = "10s", escalation = "stop_dependents", ready_in_backoff = true)]
/// struct Listener {}
///
/// let policy = Listener::OPTIONS.restart.unwrap();
/// assert_eq!((policy.max_restarts, policy.within), (5, Duration::from_secs(60)));
/// assert_eq!(policy.backoff, Duration::from_millis(500));
/// assert_eq!(policy.max_backoff, Duration::from_secs(10));
/// assert!(Listener::OPTIONS.ready_in_backoff);
///
/// #[derive(Service)]
/// #[service(restart = "on_failure")] // every other key: `ServiceRestart::DEFAULT`
/// struct Worker {}
/// assert_eq!(Worker::OPTIONS.restart, Some(ServiceRestart::DEFAULT));
/// ```
///
/// Durations are strings checked at compile time: `"250ms"`, `"30s"`, `"1m"`, `"1h30m"`
/// (units `h`, `m`, `s`, `ms`, `us`, `ns`, largest first, no spaces). `"30"`, `30`,
/// `"30 sec"` and `"-1s"` do not compile.
///
/// # Field options
///
/// * `#[depends_on]`: an `Arc<T>` (or any alias of it) where `T` is a service, a trait object
///   provided with `#[provide(dyn Trait)]`, or a `#[value]` of the registry. A registry that
///   does not provide `T` does not compile, and the error names `T` and the registry.
/// * `#[service(default = expr)]`: the initial value of a field that is not a dependency.
///   Other fields use `Default::default()`.
///
/// Generic structs (with where-clauses) and unit structs (`struct Marker;`, a service without
/// fields) are supported; enums, unions and tuple structs are not. Fields that are not
/// dependencies need `Default` (or `#[service(default = …)]`) only where a registry builds the
/// service: a service only ever given as an `#[instance]` needs neither.
#[proc_macro_derive(Service, attributes(service, depends_on))]
pub fn derive_service(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => service::derive(&input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Turns the hooks and background tasks of an inherent impl block into the service's
/// lifecycle. The struct declares it with `#[service(tasks)]`.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use lifecycle_core::{Health, Registry, Service, Shutdown};
///
/// #[derive(Debug)]
/// struct RefreshError;
/// impl std::fmt::Display for RefreshError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("refresh failed") }
/// }
/// impl std::error::Error for RefreshError {}
///
/// #[derive(Service, Default)]
/// #[service(tasks)]
/// struct Refresh {
///     runs: AtomicU32,
/// }
///
/// #[lifecycle_core::tasks]
/// impl Refresh {
///     #[on_start]
///     async fn warm_up(&self) -> Result<(), RefreshError> { Ok(()) }
///
///     #[on_stop]
///     async fn flush(&self) -> anyhow::Result<()> { Ok(()) }
///
///     #[health]
///     fn check(&self) -> Health { Health::Healthy }
///
///     /// Periodic; a failed run delays the next one by the backoff.
///     #[background_task(every = "30s", backoff = "1s", max_backoff = "60s")]
///     async fn refresh(&self, shutdown: Shutdown) -> Result<(), RefreshError> {
///         if !shutdown.is_cancelled() {
///             self.runs.fetch_add(1, Ordering::Relaxed);
///         }
///         Ok(())
///     }
///
///     /// Long-running, supervised.
///     #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
///     async fn listen(&self, shutdown: Shutdown) -> anyhow::Result<()> {
///         shutdown.cancelled().await;
///         Ok(())
///     }
///
///     /// Without a `Shutdown` parameter, the running future is dropped at stop.
///     #[background_task(every = "1s", initial_delay = "5s", name = "tick", jitter = 0.0)]
///     async fn tick(&self) {}
///
///     /// A plain `fn` on the blocking pool: it checks `shutdown.is_cancelled()` to return.
///     #[background_task(blocking, restart = "never")]
///     fn crunch(&self, shutdown: Shutdown) -> std::io::Result<()> {
///         while !shutdown.is_cancelled() {
///             std::thread::sleep(std::time::Duration::from_millis(1));
///         }
///         Ok(())
///     }
///
///     fn helper(&self) -> u32 { // anything else is left as written
///         self.runs.load(Ordering::Relaxed)
///     }
/// }
///
/// #[derive(Registry)]
/// struct App { refresh: Refresh }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = App::builder().build()?.start().await?;
/// tokio::time::sleep(std::time::Duration::from_millis(10)).await;
/// assert_eq!(running.refresh.helper(), 1); // the first periodic run is immediate
/// let report = running.stop().await;
/// assert!(report.is_clean(), "{}", report.summary());
/// # Ok(()) }
/// ```
///
/// # Hooks
///
/// `#[on_start]` runs before any task is spawned, `#[on_stop]` after every task ended, and
/// `#[on_reload]` on `RegistryHandle::reload` (and SIGHUP in `run_until_signal`) while the
/// service runs, bounded by `hook_timeout` (its error is reported and stops nothing); at most
/// one of each. They take `&self` only and return `()` or `Result<(), E>` with
/// `E: Into<Box<dyn Error + Send + Sync>>` (`anyhow::Result<()>`, `io::Result<()>` work): any
/// `lifecycle_core::TaskOutcome`. `#[health]` returns `Health`,
/// `bool` or `Result<(), E>` (any `IntoHealth`). Hooks may be `async fn`s, plain `fn`s, or
/// `fn`s returning `impl Future<Output = …> + Send` (or a boxed future), which are awaited;
/// futures must be `Send` (the error points at the method otherwise).
///
/// # `#[background_task(…)]`
///
/// `async fn(&self)` or `async fn(&self, shutdown: Shutdown)`, returning `()` or
/// `Result<(), E>`. The kind is chosen by the number of parameters, not by their names or
/// types: with a `Shutdown` the task watches it and returns by itself (it is aborted only at
/// `stop_timeout`); without one, its running future is dropped as soon as the service stops.
///
/// * `every = "30s"`: run periodically (first run at once); otherwise the task is long-running.
/// * `initial_delay = "5s"`: delay the first periodic run (needs `every`).
/// * `name = "…"`: the task's name in logs and reports (default: the method's name).
/// * `restart = "never" | "on_failure" | "always"`: restart policy (periodic tasks default to
///   `on_failure`, long-running ones to `never`).
/// * `max_restarts = 5, within = "60s"`: intensity limit; past it the service fails and
///   escalates (`within` defaults to 60 s; both need `restart`).
/// * `backoff = "1s", max_backoff = "60s"`: exponential backoff between restarts (defaults
///   1 s and 60 s; the cap must not be below the base).
/// * `jitter = 0.1`: each delay is shortened by up to this fraction, seeded by the registry
///   (default 0.1; `0.0` for exact schedules).
/// * `on_exit = "continue" | "stop"`: what the task's normal end (it returned `Ok` and is not
///   restarted) means: nothing (default), or stop the registry gracefully, as for a batch job
///   whose program ends when its work is done. Not for periodic tasks nor
///   `restart = "always"`, which never end normally.
/// * `blocking`: a plain `fn` run on tokio's blocking pool; it cannot be aborted, so it should
///   check `shutdown.is_cancelled()`; if it outlives `stop_timeout` it is reported.
///
/// A batch program that ends when its work is done:
///
/// ```
/// use lifecycle_core::{Registry, Service};
///
/// #[derive(Service, Default)]
/// #[service(tasks)]
/// struct Import {}
///
/// #[lifecycle_core::tasks]
/// impl Import {
///     #[background_task(on_exit = "stop")]
///     async fn import(&self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// #[derive(Registry)]
/// struct Batch { import: Import }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = Batch::builder().build()?.start().await?;
/// let report = running.handle().wait().await?; // returns once `import` returned `Ok`
/// assert!(report.is_clean());
/// # Ok(()) }
/// ```
///
/// Methods may carry `#[cfg(…)]`: a hook or task exists exactly when its method does. Two
/// `#[on_start]` (or two tasks of one name) under exclusive conditions (`cfg(unix)` and
/// `cfg(not(unix))`) are alternatives; if both are configured in, that is a compile error at
/// the second. A role can also be conditional: `#[cfg_attr(feature = "x", background_task(…))]`.
/// The role attributes may be written through any path (`use lifecycle_core as lc;` then
/// `#[lc::tasks]` with `#[lc::on_start]` inside).
///
/// `&mut self`, `self`, `mut self`, `self: &mut Self`, a missing receiver, more parameters,
/// generic or `unsafe` methods, and conflicting options are compile errors at the offending
/// tokens.
///
/// # Arguments
///
/// `#[lifecycle_core::tasks(crate = path)]` if `lifecycle_core` is renamed.
#[proc_macro_attribute]
pub fn tasks(args: TokenStream, item: TokenStream) -> TokenStream {
    tasks::tasks(args.into(), &item.into()).into()
}

/// Composes services and values into an application whose wiring is checked at compile time.
///
/// ```
/// use std::sync::Arc;
/// use lifecycle_core::{BuildError, Registry, RegistryOptions, Service};
///
/// #[derive(Default)]
/// struct RefreshConfig { every_secs: u64 }
/// pub trait Cache: Send + Sync { fn hits(&self) -> u64; }
///
/// #[derive(Service)]
/// struct Database { url: String }
///
/// #[derive(Service, Default)]
/// struct MemoryCache {}
/// impl Cache for MemoryCache { fn hits(&self) -> u64 { 0 } }
///
/// /// A hand-written service that cannot be built from dependencies.
/// struct Legacy;
/// impl Service for Legacy { const NAME: &'static str = "Legacy"; }
///
/// #[derive(Service)]
/// struct Refresh {
///     #[depends_on] db: Arc<Database>,
///     #[depends_on] cache: Arc<dyn Cache>,
///     #[depends_on] config: Arc<RefreshConfig>,
/// }
///
/// #[derive(Registry)]
/// struct Platform {
///     #[value] config: RefreshConfig,            // a plain value: given to the builder
///     db: Database,                              // a service: given, or built from its deps
///     #[provide(dyn Cache)] cache: MemoryCache,  // also satisfies `Arc<dyn Cache>` deps
///     #[instance] legacy: Legacy,                // a service that must be given
///     refresh: Refresh,                          // built from its dependencies
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = Platform::builder()
///     .config(RefreshConfig { every_secs: 30 })
///     .db(Database { url: "postgres://localhost/app".into() })
///     .legacy(Legacy)
///     .options(RegistryOptions::default())
///     .build()?          // builds the rest from their dependencies; reports cycles
///     .start()
///     .await?;           // dependency order, independent services concurrently
/// let refresh: &Arc<Refresh> = &running.refresh;   // typed access
/// assert!(Arc::ptr_eq(&refresh.db, &running.db));
/// assert_eq!(refresh.cache.hits() + refresh.config.every_secs, 30);
/// running.stop().await;
///
/// // A missing `#[value]` or `#[instance]` is an error of `build`:
/// let missing = Platform::builder().legacy(Legacy).build().err();
/// assert_eq!(missing, Some(BuildError::MissingInstance { registry: "Platform", field: "config" }));
/// # let _ = &Database { url: String::new() }.url;
/// # Ok(()) }
/// ```
///
/// Generates, beside the struct (with its visibility):
///
/// * `PlatformBuilder`: one setter per field, `options(RegistryOptions)`, and
///   `build() -> Result<Built<Platform>, BuildError>`; `Platform::builder()` starts one, and
///   `PlatformBuilder::from(platform)` turns a value with every instance into one.
/// * `PlatformServices`: one `pub` field per field, each an `Arc`; `Built<Platform>` and
///   `Running<Platform>` give access to it (`Running` derefs to it).
/// * one `Provide<T>` impl per field and per `#[provide]` key (O(1) lookups).
///
/// `PlatformBuilder` and `PlatformServices` are type aliases of structs defined inside the
/// expansion, so a user type of the same name is one clear error (which name, and how to
/// rename), not a cascade: add methods to them through a trait, not `impl PlatformBuilder`.
///
/// A `#[depends_on]` type that no field provides is a compile error naming the type and the
/// registry, at the field of the service that needs it; a type listed twice is a compile error
/// at the second field.
///
/// # Field options
///
/// * `#[value]`: a plain value (configuration); no lifecycle; must be given to the builder.
/// * `#[instance]`: a service that is not built from dependencies; must be given.
/// * `#[provide(dyn Trait, …)]`: the field also satisfies dependencies on these keys.
///
/// The names `options` and `build` are taken by the builder and cannot be field names.
///
/// # Struct options
///
/// * `#[registry(crate = path)]` if `lifecycle_core` is renamed.
/// * `#[registry(builder = Name, services = Name)]` names the generated types, e.g. when the
///   module already has a type called `PlatformBuilder`.
#[proc_macro_derive(Registry, attributes(registry, value, instance, provide))]
pub fn derive_registry(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => registry::derive(&input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Marks a background task inside a [`#[lifecycle_core::tasks]`](macro@tasks) impl block,
/// where it is consumed; see there for its options. Anywhere else it is a compile error that
/// says to add `#[lifecycle_core::tasks]`.
///
/// ```
/// # use lifecycle_core::{Service, Shutdown};
/// # #[derive(Service)] #[service(tasks)] struct Poller {}
/// #[lifecycle_core::tasks]
/// impl Poller {
///     #[background_task(every = "10s", restart = "on_failure", max_restarts = 3, within = "1m")]
///     async fn poll(&self, shutdown: Shutdown) -> std::io::Result<()> {
///         let _ = shutdown.is_cancelled();
///         Ok(())
///     }
/// }
/// ```
///
/// ```compile_fail
/// # use lifecycle_core::background_task;
/// struct NotAService;
/// impl NotAService {
///     #[background_task(every = "10s")] // error: add `#[lifecycle_core::tasks]`
///     async fn poll(&self) {}
/// }
/// ```
#[proc_macro_attribute]
pub fn background_task(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("background_task", item)
}

/// Marks the start hook inside a [`#[lifecycle_core::tasks]`](macro@tasks) impl block: run
/// once before any task is spawned, bounded by `start_timeout`. Anywhere else it is an error.
///
/// ```
/// # use lifecycle_core::Service;
/// # #[derive(Service)] #[service(tasks)] struct Db {}
/// #[lifecycle_core::tasks]
/// impl Db {
///     #[on_start]
///     async fn open(&self) -> std::io::Result<()> { Ok(()) }
/// }
/// assert!(Db::HAS_START_HOOK && !Db::HAS_STOP_HOOK);
/// ```
#[proc_macro_attribute]
pub fn on_start(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("on_start", item)
}

/// Marks the stop hook inside a [`#[lifecycle_core::tasks]`](macro@tasks) impl block: run
/// once after every task ended, bounded by `hook_timeout`. Anywhere else it is an error.
///
/// ```
/// # use lifecycle_core::Service;
/// # #[derive(Service)] #[service(tasks)] struct Db {}
/// #[lifecycle_core::tasks]
/// impl Db {
///     #[on_stop]
///     fn close(&self) {} // hooks may be plain functions too
/// }
/// assert!(Db::HAS_STOP_HOOK);
/// ```
#[proc_macro_attribute]
pub fn on_stop(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("on_stop", item)
}

/// Marks the reload hook inside a [`#[lifecycle_core::tasks]`](macro@tasks) impl block:
/// called while the service runs, by `RegistryHandle::reload` and on SIGHUP in
/// `run_until_signal`, in dependency order, bounded by `hook_timeout`. It takes `&self` and
/// returns `()` or `Result<(), E>` like `#[on_start]`; an error is reported in the
/// `ReloadReport` and the service keeps running. Anywhere else it is an error.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use lifecycle_core::{Registry, Service};
///
/// #[derive(Service, Default)]
/// #[service(tasks)]
/// struct Limits { max: AtomicU32 }
///
/// #[lifecycle_core::tasks]
/// impl Limits {
///     #[on_reload]
///     async fn reread(&self) -> Result<(), std::num::ParseIntError> {
///         let max = std::env::var("LIMITS_MAX").unwrap_or_else(|_| "10".into()).parse()?;
///         self.max.store(max, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// #[derive(Registry)]
/// struct App { limits: Limits }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert!(Limits::HAS_RELOAD_HOOK && !Limits::HAS_START_HOOK);
/// let running = App::builder().build()?.start().await?;
/// let report = running.handle().reload().await?;
/// assert!(report.is_clean() && report.service("Limits").is_some());
/// assert_eq!(running.limits.max.load(Ordering::Relaxed), 10);
/// running.stop().await;
/// # Ok(()) }
/// ```
#[proc_macro_attribute]
pub fn on_reload(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("on_reload", item)
}

/// Marks the health check inside a [`#[lifecycle_core::tasks]`](macro@tasks) impl block. It
/// returns `Health`, `bool` or `Result<(), E>`, and may be `async`. Anywhere else it is an
/// error.
///
/// ```
/// # use lifecycle_core::Service;
/// # #[derive(Service)] #[service(tasks)] struct Upstream {}
/// #[lifecycle_core::tasks]
/// impl Upstream {
///     #[health]
///     async fn reachable(&self) -> Result<(), std::io::Error> { Ok(()) }
/// }
/// assert!(Upstream::HAS_HEALTH_CHECK);
/// ```
#[proc_macro_attribute]
pub fn health(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("health", item)
}

fn outside_tasks_block_message(name: &str) -> String {
    format!(
        "`#[{name}]` only works inside an impl block marked `#[lifecycle_core::tasks]`: add `#[lifecycle_core::tasks]` above `impl YourService {{ … }}` (and `#[service(tasks)]` to its `#[derive(Service)]`)"
    )
}

fn outside_tasks_block(name: &str, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let message = outside_tasks_block_message(name);
    let error = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    quote::quote!(#error #item).into()
}
