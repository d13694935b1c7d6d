//! The forecasting platform: the flagship example of `lifecycle`.
//!
//! Read it in this order:
//!
//! 1. [`platform`]: the whole application as one `#[derive(Registry)]` struct, and the
//!    process's run loop (signals, start-up log, bounded graceful stop);
//! 2. [`refresh`]: the service the original bug report was about: a periodic task, a
//!    supervised task reacting to flag changes, a transactional refresh that commits or rolls
//!    back at stop;
//! 3. [`hub`]: per-connection WebSocket sessions as tracked child tasks;
//! 4. [`api`]: axum on hyper as a supervised background task with bounded connections and a
//!    graceful drain, one JSON error shape, `/readyz` from the registry's health;
//! 5. [`input`]: the typed, bounded values every request is parsed into;
//! 6. the rest, one module per service: [`db`] (+ [`views`]), [`cache`], [`flags`],
//!    [`forecasts`], [`scenarios`]; [`config`] is a plain value (and the `clap` command line).
//!
//! The binary `forecast-platform` runs it; `examples/` holds small focused examples; see
//! `README.md` beside this crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod cache;
pub mod config;
pub mod db;
pub mod flags;
pub mod forecasts;
pub mod hub;
pub mod input;
pub mod ops_routes;
pub mod platform;
pub mod refresh;
pub mod scenarios;
pub mod views;
