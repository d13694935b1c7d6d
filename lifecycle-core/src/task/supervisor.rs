//! The supervision loop, run inside the one task spawned per background task: periodic ticks,
//! panics caught per run, restart decisions from [`Policy`], escalation past the limit.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{Cancel, Decision, Policy, Schedule, Shutdown, TaskOutcome, TaskSpec};
use crate::BoxError;
use crate::error::Panicked;
use crate::events::Event;

type RunOutcome = Result<Result<(), BoxError>, Box<dyn Any + Send>>;

/// What the loop does next.
enum Step {
    Next,
    SleepThenRun(std::time::Duration),
    Exit,
}

struct Supervision {
    shutdown: Shutdown,
    task: u32,
    spec: TaskSpec,
    policy: Policy,
}

impl Supervision {
    fn new(shutdown: Shutdown, task: u32, spec: TaskSpec) -> Self {
        let engine = shutdown.engine();
        let seed = engine.seed
            ^ ((u64::from(shutdown.index()) << 32) | u64::from(task))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let policy = Policy::new(&spec, seed);
        Self {
            shutdown,
            task,
            spec,
            policy,
        }
    }

    fn ticker(&self) -> Option<Interval> {
        match self.spec.schedule {
            Schedule::Every {
                period,
                initial_delay,
            } => {
                let mut interval = tokio::time::interval_at(
                    Instant::now() + initial_delay,
                    period.max(std::time::Duration::from_nanos(1)),
                );
                interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
                Some(interval)
            }
            Schedule::Continuous => None,
        }
    }

    fn after_run(&mut self, outcome: RunOutcome, started: Instant) -> Step {
        let cancelled = self.shutdown.is_cancelled();
        let now = Instant::now();
        let ran_for = now - started;
        let (decision, error) = match outcome {
            Ok(Ok(())) if cancelled => return Step::Exit,
            Ok(Ok(())) => (self.policy.after_success(ran_for, now), None),
            Ok(Err(e)) => (Decision::Escalate, Some(e)),
            Err(panic) => (
                Decision::Escalate,
                Some(Box::new(Panicked::from_payload(&*panic)) as BoxError),
            ),
        };
        let engine = self.shutdown.engine();
        let service = self.shutdown.index();
        let (decision, error) = match error {
            None => (decision, None),
            Some(e) => {
                tracing::error!(service = %self.shutdown.service_name(), task = %self.spec.name, error = %e, "task run failed");
                engine.events.emit(
                    Event::TaskFailed {
                        service,
                        task: self.task,
                    },
                    self.shutdown.service_name(),
                );
                if cancelled {
                    return Step::Exit;
                }
                (self.policy.after_failure(ran_for, now), Some(e))
            }
        };
        match decision {
            Decision::Continue => Step::Next,
            Decision::RetryAfter(delay) => {
                engine.events.emit(
                    Event::TaskRestarting {
                        service,
                        task: self.task,
                        attempt: self.policy.attempt(),
                    },
                    self.shutdown.service_name(),
                );
                tracing::warn!(service = %self.shutdown.service_name(), task = %self.spec.name, ?delay, "restarting after backoff");
                Step::SleepThenRun(delay)
            }
            Decision::Finish => Step::Exit,
            Decision::Escalate => {
                let error =
                    error.unwrap_or_else(|| "restarted more often than its intensity limit".into());
                engine.escalate(service, &self.spec.name, error);
                Step::Exit
            }
        }
    }
}

pub(crate) async fn run_async<F, Fut>(shutdown: Shutdown, task: u32, spec: TaskSpec, mut make: F)
where
    F: FnMut(Shutdown) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: TaskOutcome,
{
    let mut sup = Supervision::new(shutdown, task, spec);
    let mut ticker = sup.ticker();
    let token = sup
        .shutdown
        .engine()
        .node(sup.shutdown.index())
        .token
        .clone();
    loop {
        if let Some(ticker) = &mut ticker {
            tokio::select! {
                biased;
                () = token.cancelled() => return,
                _ = ticker.tick() => {}
            }
        } else if token.is_cancelled() {
            return;
        }
        let started = Instant::now();
        let run = AssertUnwindSafe(make(sup.shutdown.clone()))
            .map(TaskOutcome::into_task_result)
            .catch_unwind();
        let outcome = match sup.spec.cancel {
            Cancel::Cooperative => run.await,
            Cancel::Drop => tokio::select! {
                biased;
                () = token.cancelled() => return,
                outcome = run => outcome,
            },
        };
        match sup.after_run(outcome, started) {
            Step::Next => {
                if ticker.is_none() {
                    tokio::task::yield_now().await;
                }
            }
            Step::SleepThenRun(delay) => {
                tokio::select! {
                    biased;
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                if let Some(ticker) = &mut ticker {
                    ticker.reset_immediately();
                }
            }
            Step::Exit => return,
        }
    }
}

pub(crate) fn run_blocking<F, O>(shutdown: Shutdown, task: u32, spec: TaskSpec, mut make: F)
where
    F: FnMut(Shutdown) -> O + Send + 'static,
    O: TaskOutcome,
{
    let runtime = tokio::runtime::Handle::current();
    let mut sup = Supervision::new(shutdown, task, spec);
    let token = sup
        .shutdown
        .engine()
        .node(sup.shutdown.index())
        .token
        .clone();
    let mut ticker = runtime.block_on(async { sup.ticker() });
    loop {
        if let Some(ticker) = &mut ticker {
            let cancelled = runtime.block_on(async {
                tokio::select! {
                    biased;
                    () = token.cancelled() => true,
                    _ = ticker.tick() => false,
                }
            });
            if cancelled {
                return;
            }
        } else if token.is_cancelled() {
            return;
        }
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            make(sup.shutdown.clone()).into_task_result()
        }));
        match sup.after_run(outcome, started) {
            Step::Next => {}
            Step::SleepThenRun(delay) => {
                let cancelled = runtime.block_on(async {
                    tokio::select! {
                        biased;
                        () = token.cancelled() => true,
                        () = tokio::time::sleep(delay) => false,
                    }
                });
                if cancelled {
                    return;
                }
                if let Some(ticker) = &mut ticker {
                    ticker.reset_immediately();
                }
            }
            Step::Exit => return,
        }
    }
}
