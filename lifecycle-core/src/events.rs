//! The registry-wide event stream: small `Copy` events, sent only when someone listens.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::broadcast;

use crate::State;

/// Index of a service in its registry (registration order).
pub type ServiceIndex = u32;

/// Something that happened in a registry. Service names come from
/// [`RegistryHandle::service_name`](crate::RegistryHandle::service_name); observers get them
/// with every event.
///
/// ```
/// use lifecycle_core::{Event, State};
/// let e = Event::State { service: 0, from: State::New, to: State::Starting };
/// assert_eq!(e.service(), Some(0));
/// assert_eq!(Event::Stopped.service(), None);
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
    /// A task run returned an error or panicked (also during a stop).
    TaskFailed {
        /// The service.
        service: ServiceIndex,
        /// The task's name.
        task: &'static str,
        /// Whether it panicked (otherwise it returned an error).
        panicked: bool,
    },
    /// A task is restarted (or its next periodic run delayed) after a failure.
    TaskRestarting {
        /// The service.
        service: ServiceIndex,
        /// The task's name.
        task: &'static str,
        /// Restarts within the task's intensity window (`within`), this one included,
        /// whether or not a limit is set.
        attempt: u32,
        /// How long it waits before the next run (the backoff).
        delay: std::time::Duration,
    },
    /// A task failed past its restart policy: its service failed and its escalation applies.
    Escalated {
        /// The service.
        service: ServiceIndex,
        /// The task's name.
        task: &'static str,
    },
    /// Start-up began.
    StartupBegan,
    /// Start-up finished: every service is Running.
    StartupFinished,
    /// Start-up failed or was cancelled: the started services are being stopped.
    RollingBack,
    /// A stop was requested: readiness is off; the ordered stop begins after `drain_delay`.
    Draining,
    /// The ordered stop of the whole registry began.
    Stopping,
    /// The registry stopped: no task of it is alive (blocking ones excepted, and reported).
    Stopped,
}

impl Event {
    /// The service this event is about; `None` for registry-wide events.
    pub fn service(&self) -> Option<ServiceIndex> {
        match *self {
            Event::State { service, .. }
            | Event::TaskFailed { service, .. }
            | Event::TaskRestarting { service, .. }
            | Event::Escalated { service, .. } => Some(service),
            _ => None,
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
