//! Accepted signatures are decided by traits and arity, not by spelling: aliases of `Arc`,
//! a renamed `Shutdown`, `Result` aliases, `self: &Self`, sync and async hooks. Also the
//! `stop_dependents` escalation.
#![warn(clippy::pedantic)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{Registry, RegistryOptions, Service, Shutdown as StopSignal, State};

type Shared<T> = std::sync::Arc<T>;
type Handle = StopSignal;
type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[derive(Service, Default)]
struct Base {}

#[derive(Service)]
#[service(tasks)]
struct Spelled {
    #[depends_on]
    base: Shared<Base>,
    calls: Mutex<Vec<&'static str>>,
    ticks: AtomicU32,
}

impl Spelled {
    fn note(&self, what: &'static str) {
        self.calls.lock().unwrap().push(what);
    }
}

#[lifecycle_core::tasks]
impl Spelled {
    #[on_start]
    #[allow(clippy::needless_arbitrary_self_type, clippy::unnecessary_wraps)] // on purpose
    fn start_sync(self: &Self) -> Outcome {
        self.note("start");
        Ok(())
    }

    #[on_stop]
    async fn stop_async(&self) -> Result<(), &'static str> {
        self.note("stop");
        Ok(())
    }

    #[health]
    async fn health(&self) -> Result<(), String> {
        Ok(())
    }

    /// The second parameter is the `Shutdown` handle whatever it is called or aliased to.
    #[background_task(every = "1s")]
    async fn renamed(&self, stop: Handle) {
        let _ = stop.is_cancelled();
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }

    #[background_task(every = "1s", name = "pattern")]
    async fn with_a_pattern(&self, _: StopSignal) -> std::io::Result<()> {
        let _ = &self.base;
        Ok(())
    }

    #[lifecycle_core::background_task]
    async fn path_attribute(&self, stop: StopSignal) {
        stop.await;
        self.note("path attribute task ended");
    }
}

#[derive(Registry)]
struct Spelling {
    base: Base,
    spelled: Spelled,
}

#[tokio::test(start_paused = true)]
async fn aliases_renames_and_patterns_are_accepted() {
    let running = Spelling::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let spelled = Shared::clone(&running.spelled);
    assert!(running.health().await.ready);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(spelled.ticks.load(Ordering::SeqCst), 3);
    assert_eq!(
        *spelled.calls.lock().unwrap(),
        ["start", "path attribute task ended", "stop"]
    );
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- stop_dependents

#[derive(Service, Default)]
#[service(escalation = "stop_dependents", tasks)]
struct Fragile {}

#[lifecycle_core::tasks]
impl Fragile {
    #[background_task]
    async fn crash(&self, _stop: StopSignal) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        anyhow::bail!("lost the connection")
    }
}

#[derive(Service)]
struct OnTop {
    #[depends_on]
    fragile: Shared<Fragile>,
}

#[derive(Service, Default)]
struct Independent {}

#[derive(Registry)]
struct Partial {
    fragile: Fragile,
    on_top: OnTop,
    independent: Independent,
}

#[tokio::test(start_paused = true)]
async fn stop_dependents_escalation_keeps_the_rest_running() {
    let recorder = Recorder::new();
    let running = Partial::builder()
        .options(recorder.attach(RegistryOptions::default()))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let _ = &running.on_top.fragile;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        recorder.transitions_of("Fragile").last(),
        Some(&State::Failed)
    );
    assert_eq!(
        recorder.transitions_of("OnTop").last(),
        Some(&State::Stopped)
    );
    assert_eq!(
        recorder.transitions_of("Independent").last(),
        Some(&State::Running)
    );
    assert!(!running.handle().is_stopped());
    let report = running.stop().await;
    assert!(report.escalated.is_none());
    assert_no_tasks_alive().await;
}

// ---------------------------------------------------------------- #[cfg] on hooks and tasks

#[derive(Service, Default)]
#[service(tasks)]
struct Gated {
    runs: Mutex<Vec<&'static str>>,
}

#[lifecycle_core::tasks]
impl Gated {
    #[cfg(not(test))] // never compiled here: no hook, no error about a missing method
    #[on_start]
    async fn gated_start(&self) {}

    #[on_stop]
    #[cfg(test)] // always compiled here
    async fn kept_stop(&self) {
        self.runs.lock().unwrap().push("on_stop");
    }

    #[cfg(not(test))]
    #[background_task(every = "1s")]
    async fn gated_task(&self) {}

    #[background_task(every = "1s")]
    #[cfg(test)]
    async fn kept_task(&self) {
        self.runs.lock().unwrap().push("task");
    }
}

#[derive(Registry)]
struct GatedApp {
    gated: Gated,
}

#[tokio::test(start_paused = true)]
async fn cfg_gated_hooks_and_tasks_exist_exactly_when_their_method_does() {
    const { assert!(!<Gated as Service>::HAS_START_HOOK && <Gated as Service>::HAS_STOP_HOOK) };
    let running = GatedApp::builder().build().unwrap().start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let gated = Shared::clone(&running.gated);
    running.stop().await;
    assert_eq!(*gated.runs.lock().unwrap(), ["task", "on_stop"]);
}

/// Every hook, for calling through the `Service` trait directly.
#[derive(Service, Default)]
#[service(tasks)]
struct Hooked {
    calls: Mutex<Vec<&'static str>>,
}

#[lifecycle_core::tasks]
impl Hooked {
    #[on_start]
    async fn begin(&self) {
        self.calls.lock().unwrap().push("start");
    }
    #[on_stop]
    async fn end(&self) -> Outcome {
        self.calls.lock().unwrap().push("stop");
        Err("stop failed".into())
    }
    #[on_reload]
    async fn refresh(&self) {
        self.calls.lock().unwrap().push("reload");
    }
    #[health]
    async fn check(&self) -> lifecycle_core::Health {
        lifecycle_core::Health::Degraded("slow".into())
    }
}

#[tokio::test]
async fn a_derived_services_trait_methods_are_its_hooks() {
    // The derive overrides no `Service` method (one `HOOKS` constant instead, for check time):
    // calling the trait's methods must still run the block's hooks, with their values.
    let service = Hooked::default();
    assert!(Service::on_start(&service).await.is_ok());
    let stop_error = Service::on_stop(&service).await.unwrap_err();
    assert_eq!(stop_error.to_string(), "stop failed");
    assert!(Service::on_reload(&service).await.is_ok());
    assert_eq!(
        Service::health(&service).await,
        lifecycle_core::Health::Degraded("slow".into())
    );
    assert_eq!(*service.calls.lock().unwrap(), ["start", "stop", "reload"]);
    const {
        assert!(
            Hooked::HAS_START_HOOK
                && Hooked::HAS_STOP_HOOK
                && Hooked::HAS_RELOAD_HOOK
                && Hooked::HAS_HEALTH_CHECK
        );
        assert!(!Base::HAS_START_HOOK && !Base::HAS_STOP_HOOK && !Base::HAS_RELOAD_HOOK);
        assert!(!Base::HAS_HEALTH_CHECK);
    };
}
