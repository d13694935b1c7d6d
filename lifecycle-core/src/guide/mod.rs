//! A short guide, chapter by chapter. Every example here compiles and runs as a doc test.
//!
//! 1. [A first service](first_service): derive `Service`, hooks, a background task, a registry.
//! 2. [Testing on virtual time](testing): paused clocks, recorded transitions, no leaked task.
//! 3. [Supervision and restarts](supervision): restart policies, backoff, intensity, escalation.
//! 4. [Administration](administration): the handle, states, health, events, pictures.
//! 5. [Deploying on Kubernetes and systemd](deploying): probes, drain, notify, watchdog, metrics.

#[doc = include_str!("first_service.md")]
pub mod first_service {}

#[doc = include_str!("testing.md")]
pub mod testing {}

#[doc = include_str!("supervision.md")]
pub mod supervision {}

#[doc = include_str!("administration.md")]
pub mod administration {}

#[doc = include_str!("deploying.md")]
pub mod deploying {}
