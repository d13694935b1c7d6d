//! Procedural macros for `lifecycle-core`. Depend on `lifecycle-core`, which re-exports them
//! (feature `derive`, on by default); the examples below use those re-exports.
//!
//! * [`macro@Service`] describes one service: its name, options and `#[depends_on]` fields.
//! * [`macro@tasks`] turns an impl block's `#[on_start]`, `#[on_stop]`, `#[health]` and
//!   `#[background_task]` methods into the service's hooks and supervised tasks.
//! * [`macro@Registry`] composes services and values into an application whose wiring is
//!   checked at compile time.
//!
//! Generated code only describes; all behaviour lives in `lifecycle-core`. Errors in attributes
//! are reported together, each at the offending tokens.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod common;
mod duration;
mod registry;
mod service;
mod tasks;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Implements `lifecycle_core::Service` and `lifecycle_core::FromRegistry` for a struct with
/// named fields.
///
/// ```ignore
/// use std::sync::Arc;
/// use lifecycle_core::Service;
///
/// #[derive(Service)]
/// #[service(stop_timeout = "5s", tasks)]
/// struct Refresh {
///     #[depends_on] db: Arc<Database>,          // a service of the registry
///     #[depends_on] cache: Arc<dyn Cache>,      // a `#[provide(dyn Cache)]` key
///     #[depends_on] config: Arc<RefreshConfig>, // a `#[value]` of the registry
///     stats: tokio::sync::Mutex<Stats>,         // `Default::default()`
///     #[service(default = 3)] retries: u32,     // any expression
/// }
/// ```
///
/// # Struct options, `#[service(…)]`
///
/// * `name = "…"`: the name in logs, reports and errors (default: the type's name).
/// * `start_timeout = "30s"`: bound on `#[on_start]` (default 30 s); `"none"` waits forever.
/// * `stop_timeout = "5s"`: how long tasks get to finish after cancellation before they are
///   aborted (default 5 s).
/// * `hook_timeout = "5s"`: bound on `#[on_stop]` (default 5 s).
/// * `escalation = "shutdown_registry" | "stop_dependents"`: what a failure past the restart
///   policy does (default: shut the registry down).
/// * `tasks`: the type has a `#[lifecycle_core::tasks]` impl block with its hooks and tasks.
/// * `crate = path`: where `lifecycle_core` is, if renamed or re-exported.
///
/// Durations are strings checked at compile time: `"250ms"`, `"30s"`, `"1m"`, `"1h30m"`
/// (units `h`, `m`, `s`, `ms`, `us`, `ns`, largest first).
///
/// # Field options
///
/// * `#[depends_on]`: an `Arc<T>` (any alias of it) where `T` is a service, a trait object
///   provided with `#[provide(dyn Trait)]`, or a `#[value]` of the registry. The registry must
///   provide `T`, or the registry does not compile.
/// * `#[service(default = expr)]`: the initial value of a field that is not a dependency.
///   Other fields use `Default::default()`.
///
/// Generic structs (with where-clauses) are supported; enums, unions, tuple and unit structs
/// are not.
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
/// ```ignore
/// use lifecycle_core::{Health, Shutdown};
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
///     async fn refresh(&self, shutdown: Shutdown) -> Result<(), RefreshError> { Ok(()) }
///
///     /// Long-running, supervised.
///     #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
///     async fn listen(&self, shutdown: Shutdown) -> anyhow::Result<()> { Ok(()) }
///
///     /// Without a `Shutdown` parameter, the running future is dropped at stop.
///     #[background_task(every = "1s", initial_delay = "5s", name = "tick")]
///     async fn tick(&self) {}
///
///     /// A plain `fn` on the blocking pool: it should check `shutdown.is_cancelled()`.
///     #[background_task(blocking, every = "10s")]
///     fn crunch(&self, shutdown: Shutdown) -> std::io::Result<()> { Ok(()) }
///
///     fn helper(&self) {} // anything else is left as written
/// }
/// ```
///
/// # Hooks
///
/// `#[on_start]` runs before any task is spawned, `#[on_stop]` after every task ended; at most
/// one of each. They take `&self` only and return `()` or `Result<(), E>` with
/// `E: Into<Box<dyn Error + Send + Sync>>` (`anyhow::Result<()>`, `io::Result<()>` work).
/// `#[health]` returns `Health`, `bool` or `Result<(), E>`. Hooks may be `async` or not.
///
/// # `#[background_task(…)]`
///
/// `async fn(&self)` or `async fn(&self, shutdown: Shutdown)` (the kind is chosen by the
/// number of parameters), returning `()` or `Result<(), E>`. The future must be `Send`.
///
/// * `every = "30s"`: run periodically (first run at once); otherwise the task is long-running.
/// * `initial_delay = "5s"`: delay the first periodic run.
/// * `name = "…"`: the task's name (default: the method's name).
/// * `restart = "never" | "on_failure" | "always"`: restart policy (periodic tasks default to
///   `on_failure`, long-running ones to `never`).
/// * `max_restarts = 5, within = "60s"`: intensity limit; past it the service fails and
///   escalates (`within` defaults to 60 s; needs `restart`).
/// * `backoff = "1s", max_backoff = "60s"`: exponential backoff between restarts.
/// * `jitter = 0.1`: each delay shortened by up to this fraction (default 0.1; `0.0` for exact
///   schedules).
/// * `blocking`: a plain `fn` run on tokio's blocking pool.
///
/// # Arguments
///
/// `#[lifecycle_core::tasks(crate = path)]` if `lifecycle_core` is renamed.
#[proc_macro_attribute]
pub fn tasks(args: TokenStream, item: TokenStream) -> TokenStream {
    tasks::tasks(args.into(), item.into()).into()
}

/// Composes services and values into an application whose wiring is checked at compile time.
///
/// ```ignore
/// use lifecycle_core::{Registry, RegistryOptions};
///
/// #[derive(Registry)]
/// struct Platform {
///     #[value] config: RefreshConfig,            // a plain value: given to the builder
///     db: Database,                              // a service: given, or built from its deps
///     #[provide(dyn Cache)] cache: MemoryCache,  // also satisfies `Arc<dyn Cache>` deps
///     #[instance] legacy: Legacy,                // a service that must be given
///     refresh: Refresh,
/// }
///
/// let running = Platform::builder()
///     .config(RefreshConfig::default())
///     .db(Database::new("data/app.db"))
///     .legacy(Legacy::connect())
///     .options(RegistryOptions::default())
///     .build()?          // builds the rest; reports a cycle with its path
///     .start()
///     .await?;           // dependency order, independent services concurrently
/// let refresh: &std::sync::Arc<Refresh> = &running.refresh;
/// running.stop().await;
/// ```
///
/// Generates `PlatformBuilder` (one setter per field, `options`, `build`), `PlatformServices`
/// (one `pub` field per field, each an `Arc`; `Running<Platform>` derefs to it), and one
/// `Provide<T>` impl per field and per `#[provide]` key. A dependency that no field provides
/// is a compile error naming the type and the registry; a type listed twice is a compile error.
///
/// # Field options
///
/// * `#[value]`: a plain value (configuration); no lifecycle; must be given to the builder.
/// * `#[instance]`: a service that cannot be built from dependencies; must be given.
/// * `#[provide(dyn Trait, …)]`: the field also satisfies dependencies on these keys.
///
/// # Struct options
///
/// `#[registry(crate = path)]` if `lifecycle_core` is renamed.
#[proc_macro_derive(Registry, attributes(registry, value, instance, provide))]
pub fn derive_registry(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => registry::derive(&input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Marks a background task inside a `#[lifecycle_core::tasks]` impl block; see
/// [`macro@tasks`]. On its own it is an error.
#[proc_macro_attribute]
pub fn background_task(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("background_task", item)
}

/// Marks the start hook inside a `#[lifecycle_core::tasks]` impl block; see [`macro@tasks`].
/// On its own it is an error.
#[proc_macro_attribute]
pub fn on_start(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("on_start", item)
}

/// Marks the stop hook inside a `#[lifecycle_core::tasks]` impl block; see [`macro@tasks`].
/// On its own it is an error.
#[proc_macro_attribute]
pub fn on_stop(_args: TokenStream, item: TokenStream) -> TokenStream {
    outside_tasks_block("on_stop", item)
}

/// Marks the health check inside a `#[lifecycle_core::tasks]` impl block; see
/// [`macro@tasks`]. On its own it is an error.
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
