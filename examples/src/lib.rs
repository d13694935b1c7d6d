//! The forecasting platform: the flagship example of `lifecycle`.
//!
//! One module per service; [`platform`] composes them into a registry. The binary
//! `forecast-platform` runs it; `examples/` holds small focused examples.
#![forbid(unsafe_code)]

pub mod api;
pub mod cache;
pub mod config;
pub mod db;
pub mod flags;
pub mod forecasts;
pub mod hub;
pub mod platform;
pub mod refresh;
pub mod scenarios;
pub mod views;
