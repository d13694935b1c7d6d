//! The service-level restart policy's bookkeeping (intensity window, backoff), kept by the
//! control task per service that has one.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::Run;
use super::admin::{AdminAction, AdminReport, AdminRequest};
use crate::ServiceRestart;
use crate::engine::far_clamp;
use crate::events::ServiceIndex;

/// One service's restarts so far.
#[derive(Default)]
pub(crate) struct RestartHistory {
    /// When each restart within the window was decided.
    restarts: VecDeque<Instant>,
    /// Restarts in a row without a healthy run of `max_backoff` in between.
    consecutive: u32,
    /// When the last restart's start finished (the service ran from then on).
    last_up: Option<Instant>,
}

impl RestartHistory {
    /// The delay before the next restart, or `None` past the intensity limit.
    pub(crate) fn next(&mut self, policy: &ServiceRestart, now: Instant) -> Option<Duration> {
        let within = far_clamp(policy.within);
        while let Some(&oldest) = self.restarts.front() {
            if now.duration_since(oldest) >= within {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.len() as u64 >= u64::from(policy.max_restarts) {
            return None;
        }
        // A run of at least `max_backoff` since the last restart resets the backoff.
        if self
            .last_up
            .is_some_and(|up| now.duration_since(up) >= policy.max_backoff)
        {
            self.consecutive = 0;
        }
        let factor = 1u32
            .checked_shl(self.consecutive.min(31))
            .unwrap_or(u32::MAX);
        let delay = policy
            .backoff
            .checked_mul(factor)
            .unwrap_or(policy.max_backoff)
            .min(policy.max_backoff);
        self.consecutive = self.consecutive.saturating_add(1);
        self.restarts.push_back(now);
        Some(far_clamp(delay))
    }
}

impl Run<'_> {
    /// A failed service with a restart policy: queue its restart (first in line) unless past
    /// its intensity limit. Returns whether it was queued.
    pub(super) fn restart_by_policy(&mut self, i: ServiceIndex) -> bool {
        let node = self.engine.node(i);
        let Some(policy) = node.options.restart.as_deref() else {
            return false;
        };
        let history = self.restarts.entry(i).or_default();
        match history.next(policy, Instant::now()) {
            Some(delay) => {
                tracing::warn!(service = %node.name, ?delay, "restarting the service with its dependents");
                self.queue.push_front(AdminRequest {
                    action: AdminAction::Restart,
                    target: i,
                    reply: None,
                    backoff: delay,
                });
                true
            }
            None => {
                tracing::error!(service = %node.name, "restarted more often than its intensity limit: escalating");
                false
            }
        }
    }

    /// An automatic restart ended: a start that failed is that service's next failure.
    pub(super) fn automatic_finished(&mut self, target: ServiceIndex, report: &AdminReport) {
        if report.error.is_none() && !report.interrupted {
            self.restarts.entry(target).or_default().last_up = Some(Instant::now());
        }
        let Some(error) = &report.error else {
            return;
        };
        let failed = self
            .engine
            .nodes
            .iter()
            .position(|n| n.name == error.service)
            .map(|i| i as ServiceIndex);
        if let Some(failed) = failed {
            self.deferred.push(failed);
        }
    }
}
