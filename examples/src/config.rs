//! `AppConfig`: a plain value registered in the registry with `#[value]`. Services that need it
//! declare `#[depends_on] config: Arc<AppConfig>`, exactly like a service dependency, but it
//! has no lifecycle.
//!
//! The command line is parsed by `clap` ([`Cli`]); every option can also come from the
//! environment (`FORECAST_*`), and every numeric option is range-checked by clap.
//!
//! ```
//! use clap::Parser;
//! use forecast_platform::config::Cli;
//!
//! let cli = Cli::try_parse_from(["forecast-platform", "--host", "0.0.0.0", "--port", "0"]).unwrap();
//! let config = cli.into_config();
//! assert_eq!(config.listen.to_string(), "0.0.0.0:0");
//! assert!(Cli::try_parse_from(["forecast-platform", "--max-connections", "0"]).is_err());
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Everything the platform reads from the environment or the command line.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Where the SQLite file lives (created on first run).
    pub data_dir: PathBuf,
    /// Address the HTTP API binds; port 0 picks a free one.
    pub listen: SocketAddr,
    /// How long API responses stay in the cache.
    pub cache_ttl: Duration,
    /// Upper bound of the response cache, in bytes of cached JSON.
    pub cache_max_bytes: u64,
    /// Days of synthetic sales history seeded into a new database.
    pub seed_days: u32,
    /// Read-only SQLite connections (readers never wait behind the writer).
    pub db_readers: usize,
    /// Artificial pause between the chunks of a view refresh: 0 in production; tests and
    /// demos raise it to have a refresh in flight when the platform stops.
    pub refresh_throttle: Duration,
    /// How long an in-flight refresh may still run after stop was requested before it is
    /// rolled back. Kept well inside `AutomatedRefresh`'s `stop_timeout` (5 s).
    pub refresh_grace: Duration,
    /// How long start-up waits for the first build of the views. Past it the build is rolled
    /// back, the platform starts serving (views empty, forecasts 503, refresh health
    /// "degraded") and the periodic check builds them in the background.
    pub initial_refresh_budget: Duration,
    /// HTTP connections open at once; past it new connections are closed at accept.
    pub max_connections: usize,
    /// A client must send a request's headers within this (slowloris); also the idle
    /// keep-alive timeout.
    pub header_read_timeout: Duration,
    /// A request must be answered within this (408 otherwise).
    pub request_timeout: Duration,
    /// Largest request body accepted (413 otherwise).
    pub body_limit: usize,
    /// At stop, in-flight requests get this long before their connection is closed.
    pub drain_timeout: Duration,
    /// WebSocket sessions open at once; past it upgrades are refused with 503.
    pub ws_max_sessions: usize,
    /// Largest WebSocket message (and frame) a client may send.
    pub ws_max_message: usize,
    /// Bound on the whole registry's stop (`None`: the library's default, 25 s).
    pub shutdown_timeout: Option<Duration>,
    /// Lame-duck drain before the ordered stop (readiness off at once; see
    /// `RegistryOptions::drain_delay`). 0 by default; 5 s behind a Kubernetes Service.
    pub drain_delay: Duration,
    /// Operator endpoints (`POST /admin/restart/{service}`): off unless asked for.
    pub admin: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            cache_ttl: Duration::from_secs(30),
            cache_max_bytes: 32 * 1024 * 1024,
            seed_days: 731,
            db_readers: crate::db::DEFAULT_READERS,
            refresh_throttle: Duration::ZERO,
            refresh_grace: Duration::from_secs(2),
            initial_refresh_budget: Duration::from_secs(10),
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
            body_limit: 256 * 1024,
            drain_timeout: Duration::from_secs(2),
            ws_max_sessions: 1024,
            ws_max_message: 64 * 1024,
            shutdown_timeout: None,
            drain_delay: Duration::ZERO,
            admin: false,
        }
    }
}

impl AppConfig {
    /// The SQLite file inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("forecast.db")
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable; coloured only when stderr/stdout is a terminal.
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

/// The command line of `forecast-platform`. Every option also reads an environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "forecast-platform",
    version,
    about = "The forecasting platform: HTTP API, WebSocket hub, SQLite views, forecasts.",
    after_help = "Logging filter: RUST_LOG (default `info`). Stop with Ctrl-C or SIGTERM; \
                  the exit code is 0 only for a clean stop."
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "FORECAST_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, short, env = "FORECAST_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Where the SQLite database is created.
    #[arg(long, env = "FORECAST_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Days of sales history seeded into a new database.
    #[arg(long, env = "FORECAST_SEED_DAYS", default_value_t = 731,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub seed_days: u32,
    /// Log format.
    #[arg(long, env = "FORECAST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// HTTP connections open at once.
    #[arg(long, env = "FORECAST_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers (also the keep-alive idle timeout).
    #[arg(long, env = "FORECAST_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// Seconds a request may take.
    #[arg(long, env = "FORECAST_REQUEST_TIMEOUT_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// WebSocket sessions open at once.
    #[arg(long, env = "FORECAST_WS_MAX_SESSIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ws_max_sessions: u32,
    /// Response cache bound, in MiB.
    #[arg(long, env = "FORECAST_CACHE_MIB", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..=16_384))]
    pub cache_mib: u64,
    /// Bound on the whole graceful stop, in milliseconds (keep it under the orchestrator's
    /// grace period). Past it every task left is aborted and the exit code is 1.
    #[arg(long, env = "FORECAST_SHUTDOWN_TIMEOUT_MS", default_value_t = 25_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub shutdown_timeout_ms: u64,
    /// Pause between the steps of a view refresh, in milliseconds (demos and tests: keeps a
    /// refresh in flight).
    #[arg(long, env = "FORECAST_REFRESH_THROTTLE_MS", default_value_t = 0, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub refresh_throttle_ms: u64,
    /// Lame-duck drain in milliseconds: on SIGTERM, `/readyz` turns 503 at once and the
    /// ordered stop begins only after this delay (counted in the shutdown timeout). Use about
    /// 5000 behind a Kubernetes Service; a second signal skips it.
    #[arg(long, env = "FORECAST_DRAIN_DELAY_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub drain_delay_ms: u64,
    /// Enables the operator endpoints (`POST /admin/restart/{service}`). Keep it behind a
    /// trusted network: it restarts services.
    #[arg(long, env = "FORECAST_ADMIN", default_value_t = false)]
    pub admin: bool,
    /// Read-only database connections.
    #[arg(long, env = "FORECAST_DB_READERS", default_value_t = 4,
          value_parser = clap::value_parser!(u8).range(1..=64))]
    pub db_readers: u8,
}

impl Cli {
    /// The configuration these options describe (the rest at its defaults).
    pub fn into_config(self) -> AppConfig {
        AppConfig {
            data_dir: self.data_dir,
            listen: SocketAddr::new(self.host, self.port),
            seed_days: self.seed_days,
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(self.header_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            ws_max_sessions: usize::try_from(self.ws_max_sessions).unwrap_or(usize::MAX),
            cache_max_bytes: self.cache_mib * 1024 * 1024,
            db_readers: usize::from(self.db_readers),
            shutdown_timeout: Some(Duration::from_millis(self.shutdown_timeout_ms)),
            refresh_throttle: Duration::from_millis(self.refresh_throttle_ms),
            drain_delay: Duration::from_millis(self.drain_delay_ms),
            admin: self.admin,
            ..AppConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("forecast-platform").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_to_localhost_8080_and_data_dir() {
        let c = parse(&[]).unwrap().into_config();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.db_path(), PathBuf::from("data/forecast.db"));
    }

    #[test]
    fn flags_and_host() {
        let c = parse(&["--port=0", "--data-dir", "/tmp/x", "--host", "::1"])
            .unwrap()
            .into_config();
        assert_eq!(c.listen.to_string(), "[::1]:0");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        let cli = parse(&["--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_are_reported() {
        for bad in [
            &["--port", "http"][..],
            &["--port", "70000"],
            &["--bogus"],
            &["--host", "localhost:80"],
            &["--seed-days", "-1"],
            &["--header-timeout-secs", "0"],
            &["--log-format", "xml"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
