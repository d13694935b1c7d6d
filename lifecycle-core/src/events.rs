//! The registry-wide event stream: small `Copy` events, sent only when someone listens.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::broadcast;

use crate::State;

/// Index of a service in its registry (registration order).
pub type ServiceIndex = u32;

/// Something that happened in a registry. Names come from
/// [`RunningRegistry::service_name`](crate::RunningRegistry::service_name).
///
/// ```
/// use lifecycle_core::{Event, State};
/// let e = Event::State { service: 0, from: State::New, to: State::Starting };
/// assert_eq!(e.service(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A service changed state.
    State {
        /// The service.
        service: ServiceIndex,
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
    },
    /// A task run returned an error or panicked.
    TaskFailed {
        /// The service.
        service: ServiceIndex,
        /// The task's index within its service.
        task: u32,
    },
    /// A task is restarted (or its next periodic run delayed) after a failure.
    TaskRestarting {
        /// The service.
        service: ServiceIndex,
        /// The task's index within its service.
        task: u32,
        /// Restart number within the intensity window.
        attempt: u32,
    },
}

impl Event {
    /// The service this event is about.
    pub fn service(&self) -> ServiceIndex {
        match *self {
            Event::State { service, .. }
            | Event::TaskFailed { service, .. }
            | Event::TaskRestarting { service, .. } => service,
        }
    }
}

/// A synchronous observer called inline for every event with the service's name
/// (used by [`testing::Recorder`](crate::testing::Recorder)).
pub type Observer = Arc<dyn Fn(&Event, &str) + Send + Sync>;

pub(crate) struct EventSink {
    tx: broadcast::Sender<Event>,
    observers: Vec<Observer>,
    /// Set by the first `subscribe`; until then `emit` never touches the channel (whose
    /// receiver count sits behind a mutex).
    subscribed: AtomicBool,
}

impl EventSink {
    pub(crate) fn new(capacity: usize, observers: Vec<Observer>) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            tx,
            observers,
            subscribed: AtomicBool::new(false),
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.subscribed.store(true, Ordering::Release);
        self.tx.subscribe()
    }

    pub(crate) fn emit(&self, event: Event, service_name: &str) {
        for observer in &self.observers {
            observer(&event, service_name);
        }
        // No locking when nobody ever listened; `send` to no receivers is a no-op error.
        if self.subscribed.load(Ordering::Acquire) {
            let _ = self.tx.send(event);
        }
    }
}
