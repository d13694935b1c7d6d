//! Port of tokio-graceful-shutdown's `07_nested_error.rs`: a nested child fails; the error
//! propagates to its parent task, whose policy (`restart = never`, the default) escalates, so
//! the registry stops gracefully and every service gets to clean up in its stop hook. The
//! process exits 1 with an error naming the service and the child's path.
//!
//! `cargo run -p lifecycle-examples --example tgs_nested_error`   (exits 1 after about 1 s)

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{ChildPolicy, DynRegistry, Service, Shutdown};
use tokio::time::sleep;

#[derive(Service)]
#[service(tasks)]
struct Subsys1 {}

#[lifecycle_core::tasks]
impl Subsys1 {
    #[background_task]
    async fn run(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        // Printed before the child exists: on the multi-thread runtime the child may run at once.
        println!("Subsystem1 started.");
        shutdown.spawn_child("Subsys2", ChildPolicy::Propagate, |_| async {
            println!("Subsystem2 started.");
            sleep(Duration::from_millis(500)).await;
            Err::<(), _>(anyhow::anyhow!("Subsystem2 failed intentionally."))
        });
        shutdown.cancelled().await;
        Ok(())
    }

    #[on_stop]
    async fn clean_up(&self) {
        println!("Shutting down Subsystem1 ...");
        sleep(Duration::from_millis(500)).await;
        println!("Subsystem1 stopped.");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Subsys1 {}));
    registry.build()?.run_until_signal().await?;
    Ok(())
}
