//! One service's stop runs once and every caller gets the same report, without a semaphore:
//! the first caller claims it; later callers wait on the registry's one `Notify` (rare: only
//! when an escalation and a registry stop overlap), so a service carries no `Notify` of its own. A claim dropped before it
//! completed (its future was dropped) is released so another caller can take over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use super::StopReport;

#[derive(Default)]
pub(crate) struct StopOnce {
    claimed: AtomicBool,
    report: OnceLock<Arc<StopReport>>,
}

/// The right to run a service's stop. Dropped without `complete`, it releases the claim.
pub(crate) struct Claim<'a> {
    once: &'a StopOnce,
    done: &'a Notify,
    completed: bool,
}

impl Claim<'_> {
    /// Publishes the report (the first one wins) and wakes every waiter.
    pub(crate) fn complete(mut self, report: Arc<StopReport>) -> Arc<StopReport> {
        let report = Arc::clone(self.once.report.get_or_init(|| report));
        self.completed = true;
        self.done.notify_waiters();
        report
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.completed {
            self.once.claimed.store(false, Ordering::Release);
            self.done.notify_waiters();
        }
    }
}

impl StopOnce {
    pub(crate) fn get(&self) -> Option<&Arc<StopReport>> {
        self.report.get()
    }

    pub(crate) fn try_claim<'a>(&'a self, done: &'a Notify) -> Option<Claim<'a>> {
        if self.report.get().is_some() || self.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(Claim {
            once: self,
            done,
            completed: false,
        })
    }

    /// Waits until the report exists or the claim was released (then returns `None`).
    pub(crate) async fn wait(&self, done: &Notify) -> Option<Arc<StopReport>> {
        loop {
            let notified = done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(report) = self.report.get() {
                return Some(Arc::clone(report));
            }
            if !self.claimed.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
        }
    }
}
