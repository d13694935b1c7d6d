//! Every container, field and task option at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use lifecycle_core::{Health, Registry, Service, Shutdown};

#[derive(Service)]
#[service(
    name = "db",
    start_timeout = "30s",
    stop_timeout = "1m30s",
    hook_timeout = "250ms",
    escalation = "stop_dependents",
    restart = "on_failure",
    max_restarts = 5,
    within = "2m",
    backoff = "250ms",
    max_backoff = "30s",
    ready_in_backoff = true
)]
struct Database {}

#[derive(Service)]
#[service(start_timeout = "none", escalation = "shutdown_registry", tasks)]
#[service(restart = "never", ready_in_backoff = false)]
#[service(crate = ::lifecycle_core)]
struct Worker {
    #[depends_on]
    db: Arc<Database>,
    #[service(default = 3)]
    retries: u32,
    #[service(default = String::from("worker"))]
    label: String,
    runs: AtomicU32,
}

#[lifecycle_core::tasks(crate = ::lifecycle_core)]
impl Worker {
    #[on_start]
    async fn connect(&self) -> Result<(), std::io::Error> {
        let _ = (&self.db, self.retries, &self.label);
        Ok(())
    }

    #[on_stop]
    fn flush(&self) {}

    #[on_reload]
    async fn reread(&self) -> anyhow::Result<()> {
        Ok(())
    }

    #[health]
    fn check(&self) -> Health {
        Health::Healthy
    }

    #[background_task(
        every = "30s",
        initial_delay = "5s",
        name = "refresh",
        restart = "on_failure",
        max_restarts = 5,
        within = "1m",
        backoff = "1s",
        max_backoff = "1m",
        jitter = 0.0
    )]
    async fn refresh_all(&self, shutdown: Shutdown) -> Result<(), std::io::Error> {
        let _ = shutdown.is_cancelled();
        self.runs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    #[background_task(restart = "always", max_restarts = 3)]
    async fn listen(&self) {}

    #[background_task(restart = "never", on_exit = "stop")]
    async fn once(&self, _shutdown: Shutdown) {}

    #[background_task(restart = "on_failure", on_exit = "continue")]
    async fn once_more(&self, _shutdown: Shutdown) {}

    #[background_task(blocking, every = "10s")]
    fn crunch(&self, shutdown: Shutdown) {
        let _ = shutdown.is_cancelled();
    }

    #[background_task(blocking)]
    fn crunch_forever(&self) {}

    fn helper(&self) -> u32 {
        self.runs.load(Ordering::Relaxed)
    }
}

#[derive(Registry)]
#[registry(crate = ::lifecycle_core)]
struct App {
    #[instance]
    db: Database,
    worker: Worker,
}

fn main() {
    let built = App::builder().db(Database {}).build().unwrap();
    assert_eq!(built.services().worker.helper(), 0);
    assert_eq!(<Database as Service>::NAME, "db");
    let restart = <Database as Service>::OPTIONS.restart.unwrap();
    assert_eq!(
        (restart.max_restarts, restart.within),
        (5, std::time::Duration::from_secs(120))
    );
    assert_eq!(
        (restart.backoff, restart.max_backoff),
        (
            std::time::Duration::from_millis(250),
            std::time::Duration::from_secs(30)
        )
    );
    assert!(<Database as Service>::OPTIONS.ready_in_backoff);
    assert_eq!(<Worker as Service>::OPTIONS.restart, None);
    assert!(!<Worker as Service>::OPTIONS.ready_in_backoff);
    assert!(<Worker as Service>::HAS_RELOAD_HOOK && !<Database as Service>::HAS_RELOAD_HOOK);
}
