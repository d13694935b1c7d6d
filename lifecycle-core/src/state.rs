//! The lifecycle state machine, held in one atomic byte per service (this is what loom models).

use std::fmt;

#[cfg(lifecycle_loom)]
use loom::sync::atomic::{AtomicU8, Ordering};
#[cfg(not(lifecycle_loom))]
use std::sync::atomic::{AtomicU8, Ordering};

/// Where a service is in its lifecycle. Transitions only go forward:
/// New → Starting → Running → Stopping → Stopped, and any non-terminal state → Failed
/// (reached after cleanup). A service that was never started stays New. The one exception is
/// an administrative restart ([`RegistryHandle::restart`](crate::RegistryHandle::restart),
/// a service-level restart policy): Stopped/Failed → Starting begins a new incarnation,
/// through [`StateCell::restart`] only.
///
/// ```
/// use lifecycle_core::State;
/// assert!(State::Stopped.is_terminal());
/// assert!(State::Starting < State::Running);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum State {
    /// Built, never started.
    New = 0,
    /// `on_start` is running.
    Starting = 1,
    /// Started; its tasks run.
    Running = 2,
    /// Cancelled; tasks are finishing, then `on_stop` runs.
    Stopping = 3,
    /// Stopped cleanly or after a cancelled start.
    Stopped = 4,
    /// Failed (start error or task failure past its policy), after cleanup.
    Failed = 5,
}

impl State {
    /// Stopped or Failed: nothing more will happen.
    pub const fn is_terminal(self) -> bool {
        matches!(self, State::Stopped | State::Failed)
    }

    const fn from_u8(v: u8) -> State {
        match v {
            0 => State::New,
            1 => State::Starting,
            2 => State::Running,
            3 => State::Stopping,
            4 => State::Stopped,
            _ => State::Failed,
        }
    }

    /// Whether `self -> to` is a legal forward transition.
    pub const fn can_become(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (New, Starting)
                | (Starting, Running)
                | (Starting | Running, Stopping)
                | (Starting | Stopping, Stopped)
                | (Starting | Running | Stopping, Failed)
        )
    }
}

impl State {
    /// Whether a restart may move `self` to Starting: only from a terminal state.
    ///
    /// ```
    /// use lifecycle_core::State;
    /// assert!(State::Failed.can_restart() && !State::Running.can_restart());
    /// ```
    pub const fn can_restart(self) -> bool {
        self.is_terminal()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One service's state, changed only through legal forward transitions.
///
/// ```
/// use lifecycle_core::{State, StateCell};
/// let cell = StateCell::new();
/// assert_eq!(cell.transition(State::Starting), Ok(State::New));
/// assert_eq!(cell.transition(State::New), Err(State::Starting)); // never backwards
/// ```
#[derive(Debug)]
pub struct StateCell(AtomicU8);

impl Default for StateCell {
    fn default() -> Self {
        Self::new()
    }
}

impl StateCell {
    /// A cell in `New`.
    pub fn new() -> Self {
        Self(AtomicU8::new(State::New as u8))
    }

    /// The current state.
    pub fn get(&self) -> State {
        State::from_u8(self.0.load(Ordering::Acquire))
    }

    /// The one backward move, for an administrative restart: Stopped or Failed → Starting
    /// (a new incarnation of the service). Returns the previous state, or the current one if
    /// it is not terminal. The registry's control task is its only caller, after the service's
    /// stop finished; every other transition stays forward-only.
    ///
    /// ```
    /// use lifecycle_core::{State, StateCell};
    /// let cell = StateCell::new();
    /// assert_eq!(cell.restart(), Err(State::New)); // never started: nothing to restart
    /// for to in [State::Starting, State::Running, State::Stopping, State::Stopped] {
    ///     cell.transition(to).unwrap();
    /// }
    /// assert_eq!(cell.restart(), Ok(State::Stopped));
    /// assert_eq!(cell.get(), State::Starting);
    /// ```
    pub fn restart(&self) -> Result<State, State> {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let from = State::from_u8(current);
            if !from.can_restart() {
                return Err(from);
            }
            match self.0.compare_exchange_weak(
                current,
                State::Starting as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(from),
                Err(actual) => current = actual,
            }
        }
    }

    /// Moves to `to` if that is a legal transition from the current state.
    /// Returns the previous state, or the current one if the move is illegal.
    pub fn transition(&self, to: State) -> Result<State, State> {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let from = State::from_u8(current);
            if !from.can_become(to) {
                return Err(from);
            }
            match self.0.compare_exchange_weak(
                current,
                to as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(from),
                Err(actual) => current = actual,
            }
        }
    }
}
