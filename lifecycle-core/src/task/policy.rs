//! The supervision decision after one run: restart, back off, finish or escalate.
//! Pure logic over virtual time, shared by async and blocking tasks.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{Restart, Schedule, TaskSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Periodic: wait for the next tick. Continuous: run again now.
    Continue,
    /// Run again after this delay (the backoff).
    RetryAfter(Duration),
    /// The task is done (a long-running task returned and is not restarted).
    Finish,
    /// Past the policy: the service fails.
    Escalate,
}

pub(crate) struct Policy {
    periodic: bool,
    restart: Restart,
    max_restarts: Option<u32>,
    within: Duration,
    backoff: Duration,
    max_backoff: Duration,
    jitter: f64,
    consecutive_failures: u32,
    restarts: VecDeque<Instant>,
    rng: fastrand::Rng,
}

impl Policy {
    pub(crate) fn new(spec: &TaskSpec, seed: u64) -> Self {
        Self {
            periodic: matches!(spec.schedule, Schedule::Every { .. }),
            restart: spec.restart,
            max_restarts: spec.max_restarts,
            within: spec.within.get(),
            backoff: spec.backoff.get(),
            max_backoff: spec.max_backoff.get(),
            jitter: f64::from(spec.jitter),
            consecutive_failures: 0,
            restarts: VecDeque::new(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The restart number within the window (1-based), for events.
    pub(crate) fn attempt(&self) -> u32 {
        self.restarts.len() as u32
    }

    pub(crate) fn after_success(&mut self, ran_for: Duration, now: Instant) -> Decision {
        // A healthy run resets the backoff.
        if self.periodic || ran_for >= self.max_backoff {
            self.consecutive_failures = 0;
        }
        if self.periodic {
            return Decision::Continue;
        }
        match self.restart {
            Restart::Always => {
                if self.record_restart(now) {
                    Decision::Continue
                } else {
                    Decision::Escalate
                }
            }
            Restart::Never | Restart::OnFailure => Decision::Finish,
        }
    }

    pub(crate) fn after_failure(&mut self, ran_for: Duration, now: Instant) -> Decision {
        if self.restart == Restart::Never {
            return Decision::Escalate;
        }
        if ran_for >= self.max_backoff {
            self.consecutive_failures = 0;
        }
        if !self.record_restart(now) {
            return Decision::Escalate;
        }
        let delay = self.next_delay();
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        Decision::RetryAfter(delay)
    }

    /// Records a restart; false when the intensity limit is exceeded.
    /// Without a limit the window is still kept (for `attempt`), capped in length.
    fn record_restart(&mut self, now: Instant) -> bool {
        const UNLIMITED_WINDOW_CAP: usize = 4096;
        while let Some(&oldest) = self.restarts.front() {
            if now.duration_since(oldest) >= self.within {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        match self.max_restarts {
            Some(max) if self.restarts.len() as u32 >= max => return false,
            None if self.restarts.len() >= UNLIMITED_WINDOW_CAP => {
                self.restarts.pop_front();
            }
            _ => {}
        }
        self.restarts.push_back(now);
        true
    }

    fn next_delay(&mut self) -> Duration {
        let factor = 1u32
            .checked_shl(self.consecutive_failures.min(31))
            .unwrap_or(u32::MAX);
        let delay = self
            .backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let delay = crate::engine::far_clamp(delay);
        if self.jitter > 0.0 {
            delay.mul_f64(1.0 - self.jitter * self.rng.f64())
        } else {
            delay
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        TaskSpec::new("t")
            .restart(Restart::OnFailure)
            .backoff(Duration::from_millis(100), Duration::from_millis(350))
            .jitter(0.0)
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let mut p = Policy::new(&spec(), 1);
        let now = Instant::now();
        let delays: Vec<_> = (0..4)
            .map(|_| p.after_failure(Duration::ZERO, now))
            .collect();
        let ms = |m| Decision::RetryAfter(Duration::from_millis(m));
        assert_eq!(delays, vec![ms(100), ms(200), ms(350), ms(350)]);
    }

    #[test]
    fn intensity_limit_escalates_and_window_slides() {
        let mut p = Policy::new(&spec().max_restarts(2, Duration::from_secs(10)), 1);
        let t0 = Instant::now();
        assert!(matches!(
            p.after_failure(Duration::ZERO, t0),
            Decision::RetryAfter(_)
        ));
        assert!(matches!(
            p.after_failure(Duration::ZERO, t0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(p.after_failure(Duration::ZERO, t0), Decision::Escalate);
        let mut p = Policy::new(&spec().max_restarts(2, Duration::from_secs(10)), 1);
        p.after_failure(Duration::ZERO, t0);
        p.after_failure(Duration::ZERO, t0);
        let later = t0 + Duration::from_secs(10);
        assert!(matches!(
            p.after_failure(Duration::ZERO, later),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn never_escalates_on_first_failure_and_finishes_on_success() {
        let mut p = Policy::new(&TaskSpec::new("t"), 1);
        let now = Instant::now();
        assert_eq!(p.after_success(Duration::ZERO, now), Decision::Finish);
        assert_eq!(p.after_failure(Duration::ZERO, now), Decision::Escalate);
    }

    #[test]
    fn jitter_is_seeded_and_bounded() {
        let s = spec().jitter(0.5);
        let run = |seed| {
            let mut p = Policy::new(&s, seed);
            p.after_failure(Duration::ZERO, Instant::now())
        };
        assert_eq!(run(7), run(7));
        let Decision::RetryAfter(d) = run(7) else {
            panic!("expected a retry")
        };
        assert!(
            d >= Duration::from_millis(50) && d <= Duration::from_millis(100),
            "{d:?}"
        );
    }
}
