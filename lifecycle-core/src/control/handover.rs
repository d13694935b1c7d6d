//! The two places where callers race the control task, kept synchronous and small so loom
//! can model them (`tests/loom.rs`):
//!
//! - [`Handover`]: a start (which takes the command receiver to launch the control task)
//!   racing a stop requested before start-up (which stops the registry right there).
//!   Exactly one wins: either the control task runs and the stop reaches it as a command, or
//!   the registry is stopped and the start is refused.
//! - [`Outcome`]: the one stop report, published once; every publisher and every reader sees
//!   the same one (the control task's and the RAII abort's publications race).

use std::sync::Arc;

#[cfg(lifecycle_loom)]
use loom::sync::Mutex;
#[cfg(not(lifecycle_loom))]
use std::sync::Mutex;

enum Slot<R> {
    /// Built, not started: holds what the control task will need.
    Idle(R),
    /// The control task runs.
    Running,
    /// Stopped (before start, after the run, or aborted).
    Done,
}

/// What a stop request must do, as decided by [`Handover::stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAction {
    /// Nothing ran: the caller publishes the (empty) report itself.
    StoppedBeforeStart,
    /// The control task runs: send it the stop command.
    SendToControl,
    /// Already stopped.
    Nothing,
}

/// Who owns the registry's run: nobody yet, the control task, or nobody any more.
pub struct Handover<R> {
    slot: Mutex<Slot<R>>,
}

impl<R> Handover<R> {
    /// Not started, holding `idle` for the launch.
    pub fn new(idle: R) -> Self {
        Self {
            slot: Mutex::new(Slot::Idle(idle)),
        }
    }

    /// Takes what the control task needs, once, unless a stop came first.
    pub fn launch(&self) -> Option<R> {
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match std::mem::replace(&mut *slot, Slot::Running) {
            Slot::Idle(idle) => Some(idle),
            other => {
                *slot = other;
                None
            }
        }
    }

    /// A stop request: decides, atomically with `launch`, who carries it out.
    pub fn stop(&self) -> StopAction {
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*slot {
            Slot::Idle(_) => {
                *slot = Slot::Done;
                StopAction::StoppedBeforeStart
            }
            Slot::Running => StopAction::SendToControl,
            Slot::Done => StopAction::Nothing,
        }
    }

    /// The run is over (the control task finished, or everything was aborted).
    pub fn finish(&self) {
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Slot::Done;
    }
}

/// A value published once; the first publication wins and every publisher gets the winner.
pub struct Outcome<T> {
    value: Mutex<Option<Arc<T>>>,
}

impl<T> Default for Outcome<T> {
    fn default() -> Self {
        Self {
            value: Mutex::new(None),
        }
    }
}

impl<T> Outcome<T> {
    /// Publishes `value` unless one was published; returns the one that counts.
    pub fn publish(&self, value: T) -> Arc<T> {
        let mut slot = self
            .value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(slot.get_or_insert_with(|| Arc::new(value)))
    }

    /// The published value, if any.
    pub fn get(&self) -> Option<Arc<T>> {
        self.value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
