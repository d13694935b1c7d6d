//! `AppConfig`: a plain value registered in the registry with `#[value]`. Services that need it
//! declare `#[depends_on] config: Arc<AppConfig>`, exactly like a service dependency, but it
//! has no lifecycle.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Everything the platform reads from the environment or the command line.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Where the SQLite file lives (created on first run).
    pub data_dir: PathBuf,
    /// Address the HTTP API binds; port 0 picks a free one.
    pub listen: SocketAddr,
    /// How long API responses stay in the cache.
    pub cache_ttl: Duration,
    /// Days of synthetic sales history seeded into a new database.
    pub seed_days: u32,
    /// Artificial pause between the chunks of a view refresh: 0 in production; tests and
    /// demos raise it to have a refresh in flight when the platform stops.
    pub refresh_throttle: Duration,
    /// How long an in-flight refresh may still run after stop was requested before it is
    /// rolled back. Kept well inside `AutomatedRefresh`'s `stop_timeout` (5 s).
    pub refresh_grace: Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            cache_ttl: Duration::from_secs(30),
            seed_days: 730,
            refresh_throttle: Duration::ZERO,
            refresh_grace: Duration::from_secs(2),
        }
    }
}

/// What went wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be parsed.
    #[error("invalid {what} `{value}`: {reason}")]
    Invalid {
        /// The option.
        what: &'static str,
        /// The value given.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An unknown command-line argument.
    #[error("unknown argument `{0}` (try --help)")]
    UnknownArgument(String),
    /// `--help` was asked for.
    #[error("{USAGE}")]
    Help,
}

/// Command-line help.
pub const USAGE: &str = "\
usage: forecast-platform [--port N] [--data-dir DIR] [--seed-days N]

  --port N        port to listen on, on 127.0.0.1 (env FORECAST_PORT, default 8080, 0 = any free port)
  --data-dir DIR  where the SQLite database is created (env FORECAST_DATA_DIR, default ./data)
  --seed-days N   days of sales history seeded into a new database (default 730)

Logging: RUST_LOG (default `info`). Stop with Ctrl-C or SIGTERM.";

impl AppConfig {
    /// The SQLite file inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("forecast.db")
    }

    /// Reads `FORECAST_PORT`/`FORECAST_DATA_DIR`, then command-line flags (which win).
    pub fn from_env_and_args(
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(port) = env("FORECAST_PORT") {
            config.listen.set_port(parse_port(&port)?);
        }
        if let Some(dir) = env("FORECAST_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = |what: &'static str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| ConfigError::Invalid {
                        what,
                        value: String::new(),
                        reason: "missing value".into(),
                    })
            };
            match flag.as_str() {
                "--port" | "-p" => config.listen.set_port(parse_port(&value("port")?)?),
                "--data-dir" => config.data_dir = PathBuf::from(value("data dir")?),
                "--seed-days" => {
                    let v = value("seed days")?;
                    config.seed_days =
                        v.parse()
                            .map_err(|e: std::num::ParseIntError| ConfigError::Invalid {
                                what: "seed days",
                                value: v.clone(),
                                reason: e.to_string(),
                            })?;
                }
                "--help" | "-h" => return Err(ConfigError::Help),
                _ => return Err(ConfigError::UnknownArgument(arg)),
            }
        }
        Ok(config)
    }
}

fn parse_port(value: &str) -> Result<u16, ConfigError> {
    value
        .parse()
        .map_err(|e: std::num::ParseIntError| ConfigError::Invalid {
            what: "port",
            value: value.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_to_localhost_8080_and_data_dir() {
        let c = AppConfig::from_env_and_args(|_| None, args(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.db_path(), PathBuf::from("data/forecast.db"));
    }

    #[test]
    fn flags_override_env() {
        let env = |k: &str| (k == "FORECAST_PORT").then(|| "9000".to_owned());
        let c =
            AppConfig::from_env_and_args(env, args(&["--port=0", "--data-dir", "/tmp/x"])).unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        let c = AppConfig::from_env_and_args(env, args(&[])).unwrap();
        assert_eq!(c.listen.port(), 9000);
    }

    #[test]
    fn bad_values_are_reported() {
        let e = AppConfig::from_env_and_args(|_| None, args(&["--port", "http"])).unwrap_err();
        assert!(e.to_string().contains("invalid port `http`"), "{e}");
        let e = AppConfig::from_env_and_args(|_| None, args(&["--bogus"])).unwrap_err();
        assert!(e.to_string().contains("--bogus"), "{e}");
    }
}
