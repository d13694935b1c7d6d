//! Port of tokio-graceful-shutdown's `13_partial_shutdown.rs`: after 1 s, Subsys1 stops the
//! subtree it spawned (Subsys2 and its own child Subsys3) and waits for it, while Subsys1 keeps
//! running until Ctrl-C.
//!
//! `cargo run -p lifecycle-examples --example tgs_partial_shutdown`   (Ctrl-C to stop; exits 0)

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{ChildPolicy, DynRegistry, Service, Shutdown};
use tokio::time::sleep;

async fn subsys3(shutdown: Shutdown) {
    println!("Subsys3 started.");
    shutdown.cancelled().await;
    println!("Subsys3 stopped.");
}

async fn subsys2(shutdown: Shutdown) {
    println!("Subsys2 started.");
    shutdown.spawn_child("Subsys3", ChildPolicy::Propagate, subsys3);
    shutdown.cancelled().await;
    println!("Subsys2 stopped.");
}

#[derive(Service)]
#[service(tasks)]
struct Subsys1 {}

#[lifecycle_core::tasks]
impl Subsys1 {
    #[background_task]
    async fn run(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        println!("Subsys1 started.");
        println!("Starting nested subsystem ...");
        let nested = shutdown.spawn_child("Subsys2", ChildPolicy::Propagate, subsys2);
        println!("Nested subsystem started.");
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = sleep(Duration::from_secs(1)) => {
                println!("Shutting down nested subsystem ...");
                // Stops the subtree only; the handle resolves once all of it has ended.
                nested.cancel();
                nested.await?;
                println!("Nested subsystem shut down.");
                shutdown.cancelled().await;
            }
        }
        println!("Subsys1 stopped.");
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Subsys1 {}));
    let report = registry.build()?.run_until_signal().await?;
    anyhow::ensure!(report.is_clean(), "unclean stop: {}", report.summary());
    Ok(())
}
