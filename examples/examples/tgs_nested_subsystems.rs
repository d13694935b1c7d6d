//! Port of tokio-graceful-shutdown's `06_nested_subsystems.rs`: Subsys1 starts a nested
//! Subsys2; on Ctrl-C both get their shutdown at once, clean up concurrently, and the registry's
//! stop waits for the whole tree (within the service's `stop_timeout`). Exits 0.
//!
//! `cargo run -p lifecycle-examples --example tgs_nested_subsystems`   (Ctrl-C to stop)

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{ChildPolicy, DynRegistry, Service, Shutdown};
use tokio::time::sleep;

async fn subsys2(shutdown: Shutdown) {
    println!("Subsystem2 started.");
    shutdown.cancelled().await;
    println!("Shutting down Subsystem2 ...");
    sleep(Duration::from_millis(500)).await;
    println!("Subsystem2 stopped.");
}

#[derive(Service)]
#[service(tasks, stop_timeout = "1s")]
struct Subsys1 {}

#[lifecycle_core::tasks]
impl Subsys1 {
    #[background_task]
    async fn run(&self, shutdown: Shutdown) {
        shutdown.spawn_child("Subsys2", ChildPolicy::Propagate, subsys2);
        println!("Subsystem1 started.");
        shutdown.cancelled().await;
        println!("Shutting down Subsystem1 ...");
        sleep(Duration::from_millis(500)).await;
        println!("Subsystem1 stopped.");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Subsys1 {}));
    registry.build()?.run_until_signal().await?;
    Ok(())
}
