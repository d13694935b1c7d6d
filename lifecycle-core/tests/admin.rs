//! Administration along the graph (issue 10): restart, stop and start one service with its
//! dependents, the service-level restart policy, stops requested from inside with a reason,
//! reload, per-task status. All on virtual time, with closure-built services.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use lifecycle_core::testing::assert_no_tasks_alive;
use lifecycle_core::{
    BoxError, DynRegistry, Phase, RunError, Service, Shutdown, State, StopReason, TaskSpawner,
    TaskSpec, find_source,
};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

type Hook = Arc<dyn Fn(Option<Shutdown>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
type TaskFn = Arc<dyn Fn(Shutdown) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// A service assembled from closures; hooks get `Shutdown::current()`.
#[derive(Default)]
struct Svc {
    start: Option<Hook>,
    stop: Option<Hook>,
    tasks: Vec<(TaskSpec, TaskFn)>,
}

impl Svc {
    fn new() -> Self {
        Self::default()
    }
    fn on_start<F>(mut self, f: impl Fn(Option<Shutdown>) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.start = Some(Arc::new(move |s| Box::pin(f(s))));
        self
    }
    fn on_stop<F>(mut self, f: impl Fn(Option<Shutdown>) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.stop = Some(Arc::new(move |s| Box::pin(f(s))));
        self
    }
    fn task<F>(mut self, spec: TaskSpec, f: impl Fn(Shutdown) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.tasks.push((spec, Arc::new(move |s| Box::pin(f(s)))));
        self
    }
}

impl Service for Svc {
    const NAME: &'static str = "Svc";
    const HAS_HEALTH_CHECK: bool = false;

    async fn on_start(&self) -> Result<(), BoxError> {
        match &self.start {
            Some(hook) => hook(Shutdown::current()).await,
            None => Ok(()),
        }
    }

    async fn on_stop(&self) -> Result<(), BoxError> {
        match &self.stop {
            Some(hook) => hook(Shutdown::current()).await,
            None => Ok(()),
        }
    }

    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {
        for (spec, f) in &self.tasks {
            let f = Arc::clone(f);
            tasks.spawn(spec.clone(), move |shutdown| f(shutdown));
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("batch done: {0} rows")]
struct BatchDone(u32);

// ------------------------------------------------------------ stop requested from inside

#[tokio::test(start_paused = true)]
async fn a_stop_requested_from_a_task_carries_its_reason_awaited_or_not() {
    for awaited in [false, true] {
        let mut registry = DynRegistry::new();
        registry.add_named(
            "import",
            Arc::new(
                Svc::new().task(TaskSpec::new("batch"), move |shutdown| async move {
                    tokio::time::sleep(20 * MS).await;
                    shutdown.request_stop_because(BatchDone(42));
                    if awaited {
                        // Waits for its own service's stop: the stop reaches it and it returns.
                        shutdown.cancelled().await;
                    }
                    Ok(())
                }),
            ),
        );
        let began = Instant::now();
        let running = registry.build().unwrap().start().await.unwrap();
        let report = running.run_until(std::future::pending()).await.unwrap();
        assert_eq!(began.elapsed(), 20 * MS, "awaited = {awaited}");
        let reason = report.reason.as_ref().expect("the reason is in the report");
        assert_eq!(reason.service.as_deref(), Some("import"));
        assert_eq!(find_source::<BatchDone>(reason).unwrap().0, 42);
        assert_no_tasks_alive().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_requested_from_on_start_cancels_the_start_with_its_reason() {
    for awaited in [false, true] {
        let mut registry = DynRegistry::new();
        registry.add_named("first", Arc::new(Svc::new()));
        let second = registry.add_named(
            "second",
            Arc::new(Svc::new().on_start(move |shutdown| async move {
                let shutdown = shutdown.expect("a hook has its service's Shutdown");
                shutdown.request_stop_because(BatchDone(0));
                if awaited {
                    // Dropped with the cancelled start-up: never hangs.
                    shutdown.draining().await;
                    std::future::pending::<()>().await;
                }
                Ok(())
            })),
        );
        let built = registry.build().unwrap();
        let handle = built.handle();
        let outcome = built.run_until(std::future::pending()).await;
        let Err(RunError::Start(error)) = outcome else {
            panic!("the start was cancelled, got {outcome:?}")
        };
        assert_eq!(error.error.phase, Phase::Cancelled);
        let reason = find_source::<StopReason>(&error).expect("the reason is the cause");
        assert_eq!(reason.service.as_deref(), Some("second"));
        assert!(find_source::<BatchDone>(&error).is_some());
        assert_eq!(handle.state(second.index()), Some(State::Stopped));
        let report = handle.stop().await;
        assert!(report.reason.is_some(), "the published report has it too");
        assert_no_tasks_alive().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_requested_from_on_stop_completes_and_the_first_reason_wins() {
    for awaited in [false, true] {
        let mut registry = DynRegistry::new();
        registry.add_named(
            "flusher",
            Arc::new(Svc::new().on_stop(move |shutdown| async move {
                let shutdown = shutdown.expect("a hook has its service's Shutdown");
                shutdown.request_stop_because("from on_stop");
                if awaited {
                    shutdown.draining().await; // already draining: returns at once
                }
                Ok(())
            })),
        );
        let running = registry.build().unwrap().start().await.unwrap();
        let handle = running.handle();
        let began = Instant::now();
        handle.request_stop_because("operator");
        let report = running.run_until(std::future::pending()).await.unwrap();
        assert_eq!(began.elapsed(), Duration::ZERO, "no deadlock, no wait");
        let reason = report.reason.as_ref().unwrap();
        assert_eq!(reason.service, None, "from the handle");
        assert_eq!(reason.reason.to_string(), "operator");

        // Without an earlier reason, on_stop's is kept.
        let mut registry = DynRegistry::new();
        registry.add_named(
            "flusher",
            Arc::new(Svc::new().on_stop(|shutdown| async move {
                shutdown.unwrap().request_stop_because("from on_stop");
                Ok(())
            })),
        );
        let running = registry.build().unwrap().start().await.unwrap();
        let report = running.stop().await;
        assert_eq!(
            report.reason.as_ref().unwrap().reason.to_string(),
            "from on_stop"
        );
        assert!(report.is_clean());
    }
    assert!(Shutdown::current().is_none(), "no hook runs here");
}
