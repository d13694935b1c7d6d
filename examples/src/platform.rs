//! The composition: every service of the platform in one registry, and the process-level
//! run loop (signals, start-up log, bounded graceful stop).

use std::sync::Arc;

use lifecycle_core::{Registry, RegistryOptions, RegistryStopReport, StartError, StartupReport};

use crate::api::{HttpApi, Introspection};
use crate::cache::Cache;
use crate::config::AppConfig;
use crate::db::Database;
use crate::flags::FeatureFlags;
use crate::forecasts::Forecasts;
use crate::hub::{Broadcaster, WebSocketHub};
use crate::refresh::AutomatedRefresh;
use crate::scenarios::Scenarios;

/// The application: every service and value, wired at compile time. A service whose
/// `#[depends_on]` field names a type missing here does not compile.
///
/// `Platform::builder()` takes the value and the instance; the registry builds the other
/// services from their dependencies. Start-up order follows the dependencies (Cache and the
/// hub start alongside the database); stop is the reverse.
#[derive(Registry)]
pub struct Platform {
    /// The configuration: a plain value, no lifecycle.
    #[value]
    config: AppConfig,
    /// Built by `Database::new(path)`, which does no I/O.
    #[instance]
    db: Database,
    cache: Cache,
    flags: FeatureFlags,
    refresh: AutomatedRefresh,
    /// Also what `#[depends_on] events: Arc<dyn Broadcaster>` fields receive.
    #[provide(dyn Broadcaster)]
    hub: WebSocketHub,
    forecasts: Forecasts,
    scenarios: Scenarios,
    api: HttpApi,
}

/// A built, not yet started platform.
pub type Built = lifecycle_core::Built<Platform>;
/// A running platform: derefs to [`PlatformServices`] (`running.api`, `running.refresh`…).
pub type Running = lifecycle_core::Running<Platform>;

/// Wires the platform for `config`. Nothing starts and no I/O happens yet; a dependency
/// cycle would be reported here, with its path.
pub fn build(
    config: AppConfig,
    options: RegistryOptions,
) -> Result<Built, lifecycle_core::BuildError> {
    let db = Database::new(config.db_path())
        .with_seed_days(config.seed_days)
        .with_readers(config.db_readers);
    Platform::builder()
        .config(config)
        .db(db)
        .options(options)
        .build()
}

/// Gives the API the registry's handle (for `/readyz` and `/lifecycle`), before start-up:
/// the handle works before, during and after it.
pub fn attach_introspection(built: &Built) {
    let handle = built.handle();
    built.services().api.attach(Introspection {
        handle,
        mermaid: built.to_mermaid(),
    });
}

/// Starts a built platform (introspection attached) and logs the start-up timings.
pub async fn start(built: Built) -> Result<Running, StartError> {
    attach_introspection(&built);
    let handle = built.handle();
    let running = built.start().await?;
    log_startup(&handle.startup_report());
    Ok(running)
}

/// One line per service in the order they became Running, with durations, then the
/// critical path.
pub fn log_startup(report: &StartupReport) {
    for t in &report.services {
        tracing::info!(
            service = %t.service,
            after = ?t.began_after,
            took = ?t.duration,
            "started"
        );
    }
    tracing::info!(
        total = ?report.total,
        critical_path = %report.critical_path.join(" -> "),
        "all services running"
    );
}

/// The stop summary (the engine already logged each service as it stopped, with its
/// duration).
pub fn log_stop(report: &RegistryStopReport) {
    if report.is_clean() {
        tracing::info!(total = ?report.duration, order = %report.stop_order().join(" -> "), "all services stopped");
    } else {
        tracing::warn!(total = ?report.duration, problems = %report.summary(), "stopped with problems");
    }
}

/// Why the platform did not run or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Wiring failed.
    #[error(transparent)]
    Build(#[from] lifecycle_core::BuildError),
    /// Start-up failed or was interrupted (rolled back), a service failed past its restart
    /// policy, a second signal forced the stop, or signal handlers could not be installed.
    #[error(transparent)]
    Run(#[from] lifecycle_core::RunError),
}

/// Runs the platform with the library's run loop (`Built::run_until_signal`): signal
/// handlers are installed before start-up, so SIGINT/SIGTERM during start-up cancels it
/// (rolled back); after start-up a signal or a service failing past its policy stops it
/// gracefully in reverse dependency order; a second signal aborts everything.
///
/// Beside the run loop, once every service is Running, the start-up timings are logged and
/// the address printed. The stop report is returned; the caller decides on the exit code
/// from [`RegistryStopReport::is_clean`].
pub async fn run(config: AppConfig) -> Result<Arc<RegistryStopReport>, PlatformError> {
    let mut options = crate::ops_routes::registry_options().drain_delay(config.drain_delay);
    if let Some(timeout) = config.shutdown_timeout {
        options = options.shutdown_timeout(timeout);
    }
    let built = build(config, options)?;
    attach_introspection(&built);
    let handle = built.handle();
    let api = Arc::clone(&built.services().api);
    let mut events = handle.subscribe();
    let announce = async move {
        if wait_until_running(&handle, &mut events).await {
            log_startup(&handle.startup_report());
            if let Some(addr) = api.local_addr() {
                println!("forecast platform listening on http://{addr}  (Ctrl-C to stop)");
            }
        }
        std::future::pending::<()>().await;
    };
    tracing::info!("starting (SIGINT/SIGTERM cancels the start-up)");
    let report = tokio::select! {
        result = built.run_until_signal() => result?,
        () = announce => unreachable!("pending"),
    };
    log_stop(&report);
    Ok(report)
}

/// Waits until start-up has completed (true) or the registry stopped first (false): every
/// service Running and the start-up report recorded for all of them. Woken by the event
/// stream, with a 20 ms poll as a fallback (the report is recorded just after the last
/// transition, without an event of its own).
async fn wait_until_running(
    handle: &lifecycle_core::RegistryHandle,
    events: &mut tokio::sync::broadcast::Receiver<lifecycle_core::Event>,
) -> bool {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        if handle.is_stopped() {
            return false;
        }
        let states = handle.states();
        if states
            .iter()
            .all(|(_, s)| *s == lifecycle_core::State::Running)
            && handle.startup_report().services.len() == states.len()
        {
            return true;
        }
        tokio::select! {
            event = events.recv() => {
                if let Err(RecvError::Closed) = event {
                    return false;
                }
            }
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
    }
}
