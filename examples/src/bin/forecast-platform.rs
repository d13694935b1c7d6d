//! The forecasting platform. `cargo run -p lifecycle-examples --bin forecast-platform -- --help`
//!
//! Starts every service in dependency order (logging each with its duration), prints the
//! address it listens on, and on Ctrl-C or SIGTERM stops them in reverse order. Exit codes:
//! 0 for a clean stop; 1 when start-up failed or was interrupted, a service failed past its
//! policy, or the stop was not clean (tasks aborted, a hook failed); 2 for bad arguments.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use forecast_platform::config::{Cli, LogFormat};
use forecast_platform::platform;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // clap prints help/version (exit 0) or the error with usage (exit 2) itself.
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match cli.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(false)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            // Colours only on a terminal (and never with NO_COLOR): log files stay plain.
            .with_ansi(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init(),
    }
    let config = cli.into_config();
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
            eprintln!("error: stopped with problems: {}", report.summary());
            ExitCode::FAILURE
        }
        Err(e) => {
            // The message already carries the cause chain: service, phase, cause.
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
