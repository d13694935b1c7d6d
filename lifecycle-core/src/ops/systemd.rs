//! systemd `Type=notify` integration on the [`sd_notify`] crate.
//!
//! [`spawn_notifier`] watches a registry and tells the service manager:
//!
//! - `READY=1` once start-up finished ([`Event::StartupFinished`](crate::Event::StartupFinished)),
//! - `STOPPING=1` as soon as a stop is requested (at the start of the drain, if any),
//! - `STATUS=` a one-line summary whenever it changes (`4/4 services running`,
//!   `failed: Cache; 3/4 running`, `stopping`, ...),
//! - `WATCHDOG=1` every half of `WATCHDOG_USEC` (set by `WatchdogSec=`) **only while
//!   liveness holds**: once a service is Failed the pings stop, and systemd restarts the
//!   process after `WatchdogSec`.
//!
//! Around a configuration reload, call [`notify_reloading`] before and [`notify_ready`]
//! after (or wrap the reload in [`reload`]); with `Type=notify-reload` systemd waits for
//! that `READY=1`.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing and the notifier only
//! waits for the registry to stop.
//!
//! ```no_run
//! use std::sync::Arc;
//! use lifecycle_core::{DynRegistry, Service};
//!
//! struct Db;
//! impl Service for Db { const NAME: &'static str = "Db"; }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut registry = DynRegistry::new();
//!     registry.add(Arc::new(Db));
//!     let built = registry.build()?;
//!     // Spawned before start, so it sees start-up finish.
//!     let notifier = lifecycle_core::ops::systemd::spawn_notifier(built.handle());
//!     let running = built.start().await?;
//!     running.run_until_signal().await?;
//!     notifier.await?; // ends once the registry stopped
//!     Ok(())
//! }
//! ```

use std::future::Future;
use std::io;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::Verdict;
use crate::{RegistryHandle, State};

fn send(states: &[NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(%error, "sd_notify failed");
    }
}

/// Sends `RELOADING=1` (with `MONOTONIC_USEC`, as `Type=notify-reload` requires). Does
/// nothing outside systemd.
///
/// ```
/// lifecycle_core::ops::systemd::notify_reloading()?;
/// // ... re-read the configuration ...
/// lifecycle_core::ops::systemd::notify_ready()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify_reloading() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Reloading, NotifyState::monotonic_usec_now()?])
}

/// Sends `READY=1`. Does nothing outside systemd.
///
/// ```
/// lifecycle_core::ops::systemd::notify_ready()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn notify_ready() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Ready])
}

/// Runs `reload` between `RELOADING=1` and `READY=1`; a failure to notify is logged, never
/// returned, so the reload's own outcome is what you get.
///
/// ```
/// # async fn f() {
/// let outcome: Result<(), std::io::Error> = lifecycle_core::ops::systemd::reload(async {
///     // re-read the configuration, restart what depends on it
///     Ok(())
/// }).await;
/// # }
/// ```
pub async fn reload<F: Future>(reload: F) -> F::Output {
    if let Err(error) = notify_reloading() {
        tracing::warn!(%error, "sd_notify RELOADING=1 failed");
    }
    let outcome = reload.await;
    if let Err(error) = notify_ready() {
        tracing::warn!(%error, "sd_notify READY=1 failed");
    }
    outcome
}

/// The one-line `STATUS=`: how many services run, which failed, or the phase.
pub(crate) fn summary(states: &[(String, State)], stopping: bool) -> String {
    let total = states.len();
    let running = states.iter().filter(|(_, s)| *s == State::Running).count();
    let failed: Vec<&str> = states
        .iter()
        .filter(|(_, s)| *s == State::Failed)
        .map(|(n, _)| n.as_str())
        .collect();
    let verdict = Verdict::of(states);
    let mut line = if stopping {
        let stopped = states.iter().filter(|(_, s)| s.is_terminal()).count();
        format!("stopping: {stopped}/{total} stopped")
    } else if verdict.all_running {
        format!("{running}/{total} services running")
    } else if !verdict.started {
        format!("starting: {running}/{total} running")
    } else {
        format!("{running}/{total} running")
    };
    if !failed.is_empty() {
        line = format!("failed: {}; {line}", failed.join(", "));
    }
    // One line: the protocol is newline-separated.
    line.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Spawns the task that keeps systemd informed about `handle`'s registry (see the
/// [module docs](self)). It ends once the registry stopped, after `STOPPING=1`.
///
/// Spawn it before `start()` (from a built registry's handle) to announce `READY=1` the
/// moment start-up finishes; spawned later, it announces it at once if everything runs.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) {
/// let notifier = lifecycle_core::ops::systemd::spawn_notifier(handle.clone());
/// handle.stop().await;
/// notifier.await.expect("the notifier never panics");
/// # }
/// ```
pub fn spawn_notifier(handle: RegistryHandle) -> JoinHandle<()> {
    let events = handle.subscribe();
    let watchdog = sd_notify::watchdog_enabled()
        .map(|usec| usec / 2)
        .filter(|half| !half.is_zero());
    tokio::spawn(run(handle, events, watchdog))
}

async fn run(
    handle: RegistryHandle,
    mut events: tokio::sync::broadcast::Receiver<crate::Event>,
    watchdog: Option<Duration>,
) {
    let mut ticks = watchdog.map(|period| {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    let mut ready_sent = false;
    let mut stopping_sent = false;
    let mut last_status = String::new();
    loop {
        let states = handle.states();
        // A stop was requested: draining (readiness off) or already stopping.
        let stopping = handle.is_stopping();
        if stopping && !stopping_sent {
            send(&[NotifyState::Stopping]);
            stopping_sent = true;
        }
        if !ready_sent && !stopping && handle.is_started() {
            send(&[NotifyState::Ready]);
            ready_sent = true;
        }
        let status = summary(&states, stopping);
        if status != last_status {
            send(&[NotifyState::Status(&status)]);
            last_status = status;
        }
        if handle.is_stopped() {
            return;
        }
        tokio::select! {
            event = events.recv() => {
                if let Err(RecvError::Closed) = event {
                    return;
                }
            }
            _ = async {
                match ticks.as_mut() {
                    Some(ticks) => ticks.tick().await,
                    None => std::future::pending().await,
                }
            } => {
                // Liveness from the states read now, not from the loop's last pass.
                if Verdict::of(&handle.states()).live {
                    send(&[NotifyState::Watchdog]);
                }
            }
            _ = handle.wait() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(list: &[(&str, State)]) -> Vec<(String, State)> {
        list.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
    }

    #[test]
    fn status_lines() {
        let all = states(&[("Db", State::Running), ("Api", State::Running)]);
        assert_eq!(summary(&all, false), "2/2 services running");
        let starting = states(&[("Db", State::Running), ("Api", State::Starting)]);
        assert_eq!(summary(&starting, false), "starting: 1/2 running");
        let failed = states(&[("Db", State::Running), ("Api\nx", State::Failed)]);
        assert_eq!(summary(&failed, false), "failed: Api x; 1/2 running");
        let stopping = states(&[("Db", State::Running), ("Api", State::Stopped)]);
        assert_eq!(summary(&stopping, true), "stopping: 1/2 stopped");
    }
}
