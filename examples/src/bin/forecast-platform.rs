//! The forecasting platform. `cargo run -p lifecycle-examples --bin forecast-platform`
//!
//! Starts every service in dependency order (logging each with its duration), prints the
//! address it listens on, and on Ctrl-C or SIGTERM stops them in reverse order and exits 0.

use std::process::ExitCode;
use std::time::Duration;

use forecast_platform::config::{AppConfig, ConfigError, USAGE};
use forecast_platform::platform;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config =
        match AppConfig::from_env_and_args(|k| std::env::var(k).ok(), std::env::args().skip(1)) {
            Ok(config) => config,
            Err(ConfigError::Help) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("forecast")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(platform::run(config));
    // Every task of the registry has ended by now; bound the runtime's own shutdown so that
    // no stray blocking thread (a slow SQLite call) can hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(250));
    match result {
        Ok(report) if report.is_clean() => ExitCode::SUCCESS,
        Ok(report) => {
            eprintln!("warning: stopped with problems: {}", report.summary());
            ExitCode::SUCCESS
        }
        Err(e) => {
            // The message already carries the cause chain: service, phase, cause.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
