//! How a hook-less service's stop learns that its last task ended, without a future of its
//! own: the stop *arms* the service's claim, the last task to end *claims* it and queues the
//! service for the control task, and the service's deadline *disarms* it. Exactly one of the
//! three wins; kept synchronous and small so loom can model it (`tests/loom.rs`).
//!
//! The count is of the service's background tasks (each counted from its spawn until its
//! future was dropped: it returned or was aborted). It says nothing about children or
//! blocking runs: whoever claims still checks the service's own `TaskTracker` and falls
//! back to waiting on it.

#[cfg(lifecycle_loom)]
use loom::sync::atomic::{AtomicU32, Ordering::AcqRel};
#[cfg(not(lifecycle_loom))]
use std::sync::atomic::{AtomicU32, Ordering::AcqRel};

/// Set while a stop waits for the last task; the low bits count the tasks alive. One word,
/// changed only by read-modify-writes: every party sees the others' changes in one order.
const ARMED: u32 = 1 << 31;

/// One per service.
pub struct QuietClaim {
    state: AtomicU32,
}

impl Default for QuietClaim {
    fn default() -> Self {
        Self::new()
    }
}

impl QuietClaim {
    /// No task, not armed.
    pub fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
        }
    }

    /// A task of the service was spawned.
    pub fn task_began(&self) {
        self.state.fetch_add(1, AcqRel);
    }

    /// A task of the service ended. `true`: it was the last one while a stop waited, and
    /// the caller now owns that stop's wake-up.
    pub fn task_ended(&self) -> bool {
        self.state.fetch_sub(1, AcqRel) == ARMED | 1 && self.claim()
    }

    /// A stop begins waiting for the last task. `true`: no task is alive, and the caller
    /// claimed the stop itself (no task will).
    pub fn arm(&self) -> bool {
        self.state.fetch_or(ARMED, AcqRel) & !ARMED == 0 && self.claim()
    }

    /// The stop's deadline came. `true`: still armed, and the caller claimed the stop.
    pub fn disarm(&self) -> bool {
        self.claim()
    }

    /// Clears the armed bit; `true` for the one caller that found it set.
    fn claim(&self) -> bool {
        self.state.fetch_and(!ARMED, AcqRel) & ARMED != 0
    }
}
