//! The supervision loop, run inside the one task spawned per background task: periodic ticks,
//! panics caught per run, restart decisions from [`Policy`], escalation past the limit.
//!
//! The task's state is kept small (it lives in every task's allocation): the spec stays in
//! the service's task entry and the policy is built on the first run that needs it.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::children::poll_task_run;
use super::{Cancel, Decision, Policy, Schedule, Shutdown, TaskOutcome, TaskSpec};
use crate::BoxError;
use crate::engine::lock;
use crate::error::Panicked;
use crate::events::Event;

type RunOutcome = Result<Result<(), BoxError>, Box<dyn Any + Send>>;

/// What the loop does next.
enum Step {
    Next,
    SleepThenRun(std::time::Duration),
    Exit,
}

struct Supervisor {
    task: u32,
    periodic: bool,
    /// Its status says Backoff: the next run sets it back to Running (cold path).
    in_backoff: bool,
    policy: Option<Box<Policy>>,
}

fn ticker(schedule: Schedule) -> Option<Interval> {
    match schedule {
        Schedule::Every {
            period,
            initial_delay,
        } => {
            // `Duration::MAX` is "not in our lifetime": clamped so instant arithmetic cannot overflow.
            let period =
                crate::engine::far_clamp(period.get()).max(std::time::Duration::from_nanos(1));
            let start = crate::engine::deadline_after(Instant::now(), initial_delay.get());
            let mut interval = tokio::time::interval_at(start, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            Some(interval)
        }
        Schedule::Continuous => None,
    }
}

impl Supervisor {
    fn new(task: u32, schedule: Schedule) -> Self {
        Self {
            task,
            periodic: matches!(schedule, Schedule::Every { .. }),
            in_backoff: false,
            policy: None,
        }
    }

    /// Reads this task's spec from its service's task entry (cold path only).
    fn with_spec<R>(&self, shutdown: &Shutdown, f: impl FnOnce(&TaskSpec) -> R) -> R {
        let node = shutdown.engine().node(shutdown.index());
        let tasks = lock(&node.tasks);
        f(&tasks[self.task as usize].spec)
    }

    fn name(&self, shutdown: &Shutdown) -> &'static str {
        self.with_spec(shutdown, |spec| spec.name)
    }

    fn policy(&mut self, shutdown: &Shutdown) -> &mut Policy {
        let task = self.task;
        self.policy.get_or_insert_with(|| {
            let engine = shutdown.engine();
            let key = (u64::from(shutdown.index()) << 32) | u64::from(task);
            let seed = engine.seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let node = engine.node(shutdown.index());
            let tasks = lock(&node.tasks);
            Box::new(Policy::new(&tasks[task as usize].spec, seed))
        })
    }

    fn after_run(&mut self, shutdown: &Shutdown, outcome: RunOutcome, started: Instant) -> Step {
        let cancelled = shutdown.is_cancelled();
        if cancelled
            && !shutdown
                .engine()
                .node(shutdown.index())
                .token()
                .is_cancelled()
        {
            // A run of a previous incarnation that outlived its abort (a poll that never
            // yielded): its service was restarted since; its entry is gone. Nothing to do.
            return Step::Exit;
        }
        let now = Instant::now();
        let ran_for = now - started;
        let error = match outcome {
            Ok(Ok(())) if cancelled => return Step::Exit,
            // The hot path of a healthy periodic task touches nothing else.
            Ok(Ok(())) if self.periodic && self.policy.is_none() => return Step::Next,
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some((e, false)),
            Err(panic) => Some((Box::new(Panicked::from_payload(&*panic)) as BoxError, true)),
        };
        let engine = std::sync::Arc::clone(shutdown.engine());
        let service = shutdown.index();
        let name = self.name(shutdown);
        let task = self.task;
        let node = engine.node(service);
        // What the task's status says of its last failure, if it is restarted.
        let mut last_error = None;
        let decision = match error {
            None => self.policy(shutdown).after_success(ran_for, now),
            Some((error, panicked)) => {
                tracing::error!(service = %shutdown.service_name(), task = name, error = %error, "task run failed");
                engine.emit_service(
                    service,
                    Event::TaskFailed {
                        service,
                        task: name,
                        panicked,
                    },
                );
                if cancelled {
                    // A failure while the service stops is not restarted: it goes in the report.
                    let failure = engine.failed_during_stop(service, name, error);
                    node.update_task(task, |r| {
                        r.state = super::TaskState::Failed;
                        r.last_error = Some(failure);
                    });
                    return Step::Exit;
                }
                let decision = self.policy(shutdown).after_failure(ran_for, now);
                if decision == Decision::Escalate {
                    let failure = engine.escalate(service, name, error);
                    node.update_task(task, |r| {
                        r.state = super::TaskState::Failed;
                        r.last_error = failure.map(|f| f as _);
                    });
                    return Step::Exit;
                }
                // Kept as the value (no formatting): the status shows it until the next one.
                last_error = Some(std::sync::Arc::from(error));
                decision
            }
        };
        match decision {
            Decision::Continue => Step::Next,
            Decision::RetryAfter(delay) => {
                let attempt = self.policy(shutdown).attempt();
                engine.emit_service(
                    service,
                    Event::TaskRestarting {
                        service,
                        task: name,
                        attempt,
                        delay,
                    },
                );
                tracing::warn!(service = %shutdown.service_name(), task = name, ?delay, attempt, "restarting after backoff");
                let until = crate::engine::deadline_after(now, delay);
                node.update_task(task, |r| {
                    r.state = super::TaskState::Backoff { until };
                    r.restarts = r.restarts.saturating_add(1);
                    if last_error.is_some() {
                        r.last_error = last_error;
                    }
                });
                self.in_backoff = true;
                Step::SleepThenRun(delay)
            }
            Decision::Finish => {
                if self.with_spec(shutdown, |spec| spec.on_exit) == super::OnExit::Stop {
                    tracing::info!(service = %shutdown.service_name(), task = name, "task done: stopping the registry");
                    engine.request_stop(false);
                }
                Step::Exit
            }
            Decision::Escalate => {
                let failure = engine.escalate(
                    service,
                    name,
                    "restarted more often than its intensity limit".into(),
                );
                node.update_task(task, |r| {
                    r.state = super::TaskState::Failed;
                    r.last_error = failure.map(|f| f as _);
                });
                Step::Exit
            }
        }
    }
}

/// What a background task owns for its whole life. One value, captured whole by the task's
/// future (an `async fn`'s parameters would each be stored twice), dropped after every
/// local of the task and field by field in this order, whether the task returns or is
/// aborted: its tracker token and then its live count come last, so the tracker counts the
/// task until everything else of it is gone, and when its service's live count reaches zero
/// the tracker no longer counts it either (see `engine::quiet`).
pub(crate) struct TaskParts<F> {
    pub(crate) shutdown: Shutdown,
    pub(crate) make: F,
    pub(crate) task: u32,
    pub(crate) _tracked: tokio_util::task::task_tracker::TaskTrackerToken,
    pub(crate) _live: crate::engine::LiveTask,
}

/// One background task.
pub(crate) fn run_async<F, Fut>(parts: TaskParts<F>) -> impl Future<Output = ()> + Send + 'static
where
    F: FnMut(Shutdown) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: TaskOutcome,
{
    let mut parts = parts;
    async move {
        // Used through this borrow only, so the future captures `parts` whole.
        let TaskParts {
            shutdown,
            make,
            task,
            ..
        } = &mut parts;
        let task = *task;
        // Read from the task's entry, once: a parameter would be kept for the task's whole life.
        let (schedule, cancel) = {
            let node = shutdown.engine().node(shutdown.index());
            let tasks = lock(&node.tasks);
            let spec = &tasks[task as usize].spec;
            (spec.schedule, spec.cancel)
        };
        let mut ticker = ticker(schedule);
        let mut sup = Supervisor::new(task, schedule);
        // Each run's named children hang under this task (a child failure can fail the run).
        shutdown.set_task(task);
        let shutdown: &Shutdown = shutdown;
        let token = shutdown.token();
        // One wait for the whole life of the task (as a hand-written loop pins one): it
        // registers with the token once, not once per tick.
        let cancelled = token.cancelled();
        let mut cancelled = std::pin::pin!(cancelled);
        loop {
            if let Some(ticker) = &mut ticker {
                tokio::select! {
                    biased;
                    () = &mut cancelled => return,
                    _ = ticker.tick() => {}
                }
            } else if token.is_cancelled() {
                return;
            }
            if sup.in_backoff {
                sup.in_backoff = false;
                let node = shutdown.engine().node(shutdown.index());
                node.update_task(task, |r| r.state = super::TaskState::Running);
            }
            let started = Instant::now();
            let run = AssertUnwindSafe(make(shutdown.clone()))
                .map(TaskOutcome::into_task_result)
                .catch_unwind();
            // A child failure propagated to this task fails the run (the run is dropped).
            // Polled in place, with no state of its own: every task's future stays as small.
            let mut run = std::pin::pin!(run);
            let run = std::future::poll_fn(move |cx| {
                poll_task_run(run.as_mut(), cx, shutdown)
                    .map(|run| run.unwrap_or_else(|failure| Ok(Err(Box::new(failure) as BoxError))))
            });
            let outcome = match cancel {
                Cancel::Cooperative => run.await,
                Cancel::Drop => tokio::select! {
                    biased;
                    () = &mut cancelled => return,
                    outcome = run => outcome,
                },
            };
            if !matches!(outcome, Ok(Ok(()))) {
                // The failed run's children are stopped; the next run starts a fresh subtree.
                shutdown.children().retire_task_root(task);
            }
            match sup.after_run(shutdown, outcome, started) {
                Step::Next => {
                    if ticker.is_none() {
                        tokio::task::yield_now().await;
                    }
                }
                // A periodic task's next tick is simply moved; others sleep (boxed: cold path).
                Step::SleepThenRun(delay) => match &mut ticker {
                    Some(ticker) => ticker.reset_after(delay),
                    None => {
                        let backoff = Box::pin(tokio::time::sleep(delay));
                        tokio::select! {
                            biased;
                            () = &mut cancelled => return,
                            () = backoff => {}
                        }
                    }
                },
                Step::Exit => return,
            }
        }
    }
}
