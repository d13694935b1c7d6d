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
    let db = Database::new(config.db_path()).with_seed_days(config.seed_days);
    Platform::builder()
        .config(config)
        .db(db)
        .options(options)
        .build()
}

/// Starts a built platform, gives the API the running registry (for `/readyz` and
/// `/lifecycle`) and logs the start-up timings.
pub async fn start(built: Built) -> Result<Running, StartError> {
    let mermaid = built.to_mermaid();
    let running = built.start().await?;
    running.api.attach(Introspection {
        handle: running.handle(),
        mermaid,
    });
    log_startup(&running.startup_report());
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

/// SIGINT and SIGTERM, listened to from before start-up so that no signal is lost while the
/// services start (a signal during start-up stops the platform right after it).
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// The next signal.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Why the platform did not run or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Wiring failed.
    #[error(transparent)]
    Build(#[from] lifecycle_core::BuildError),
    /// A service failed to start; everything started was stopped again.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[from] std::io::Error),
    /// A service failed past its restart policy and shut the platform down.
    #[error(transparent)]
    Escalated(lifecycle_core::RunError),
    /// A second signal arrived during the graceful stop.
    #[error("second signal during shutdown: tasks aborted, stop hooks skipped")]
    Forced,
}

/// Runs the platform until SIGINT/SIGTERM (or a service failing past its policy), then
/// stops it gracefully in reverse dependency order. A second signal aborts everything.
pub async fn run(config: AppConfig) -> Result<Arc<RegistryStopReport>, PlatformError> {
    let mut signals = Signals::install()?;
    let built = build(config, crate::ops_routes::registry_options())?;
    let running = start(built).await?;
    if let Some(addr) = running.api.local_addr() {
        println!("forecast platform listening on http://{addr}  (Ctrl-C to stop)");
    }
    let handle = running.handle();
    let escalated = tokio::select! {
        signal = signals.recv() => {
            tracing::info!(signal, "stopping");
            None
        }
        result = handle.wait() => result.err(),
    };
    let report = tokio::select! {
        report = handle.stop() => report,
        signal = signals.recv() => {
            tracing::warn!(signal, "second signal: aborting");
            drop(running); // the RAII path: cancel everything, abort every task
            return Err(PlatformError::Forced);
        }
    };
    let _ = running.stop().await; // same report; also joins the registry's control task
    log_stop(&report);
    match escalated {
        Some(e) => Err(PlatformError::Escalated(e)),
        None => Ok(report),
    }
}
