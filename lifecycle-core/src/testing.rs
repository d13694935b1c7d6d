//! Helpers for testing services.
//!
//! Run lifecycle tests on a current-thread runtime with paused time:
//! `#[tokio::test(start_paused = true)]`. Paused time auto-advances when every task is idle,
//! so a 30 s period costs nothing, and a stop that wrongly waits 30 s shows up as 30 s of
//! *virtual* time (`tokio::time::Instant`) while the real clock shows microseconds. Assert on
//! virtual time.
//!
//! ```
//! use std::sync::Arc;
//! use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
//! use lifecycle_core::{DynRegistry, RegistryOptions, Service, State};
//!
//! struct Db;
//! impl Service for Db { const NAME: &'static str = "Db"; }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let recorder = Recorder::new();
//! let mut registry = DynRegistry::with_options(recorder.attach(RegistryOptions::default()));
//! registry.add(Arc::new(Db));
//! let running = registry.build().unwrap().start().await.unwrap();
//! running.stop().await;
//! assert_eq!(recorder.transitions_of("Db"),
//!            [State::Starting, State::Running, State::Stopping, State::Stopped]);
//! assert_no_tasks_alive().await;
//! # }
//! ```

use std::sync::{Arc, Mutex};

use crate::engine::lock;
use crate::events::Event;
use crate::{RegistryOptions, State};

/// Records every event of a registry with the service's name, in order, without loss.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<(String, Event)>>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds this recorder as an observer to `options`.
    pub fn attach(&self, options: RegistryOptions) -> RegistryOptions {
        let events = Arc::clone(&self.events);
        options.observe(move |e, name| lock(&events).push((name.to_owned(), *e)))
    }

    /// Every event so far, with its service's name.
    pub fn events(&self) -> Vec<(String, Event)> {
        lock(&self.events).clone()
    }

    /// State transitions as `(service name, new state)`, in order: the history to assert on.
    pub fn transitions(&self) -> Vec<(String, State)> {
        lock(&self.events)
            .iter()
            .filter_map(|(name, e)| match *e {
                Event::State { to, .. } => Some((name.clone(), to)),
                _ => None,
            })
            .collect()
    }

    /// The states one service went through.
    pub fn transitions_of(&self, name: &str) -> Vec<State> {
        self.transitions()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, state)| state)
            .collect()
    }

    /// Service names in the order they reached `state`.
    pub fn order_of(&self, state: State) -> Vec<String> {
        self.transitions()
            .into_iter()
            .filter(|(_, s)| *s == state)
            .map(|(n, _)| n)
            .collect()
    }

    /// How many task runs failed (errors and panics), per the event stream.
    pub fn task_failures(&self, name: &str) -> usize {
        lock(&self.events)
            .iter()
            .filter(|(n, e)| n == name && matches!(e, Event::TaskFailed { .. }))
            .count()
    }
}

/// The number of tasks alive on the current runtime.
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Panics unless no task is alive on the current runtime (after giving aborted tasks a few
/// scheduler turns to be dropped). Use after `stop()` or after dropping the guard.
pub async fn assert_no_tasks_alive() {
    for _ in 0..16 {
        if alive_tasks() == 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(alive_tasks(), 0, "tasks still alive on this runtime");
}
