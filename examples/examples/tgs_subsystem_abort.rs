//! Port of tokio-graceful-shutdown's `22_subsystem_abort.rs`: Subsys2 and its child Subsys3
//! are stuck (they never look at their shutdown); Subsys1 aborts that subtree through its
//! handle, and when Subsys1's work is done the program ends by itself
//! (`RegistryOptions::stop_when_idle`, as TGS's `Toplevel` ends when no subsystem is left).
//! Exits 0 after about 1 s.
//!
//! `cargo run -p lifecycle-examples --example tgs_subsystem_abort`

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{ChildPolicy, DynRegistry, RegistryOptions, Service, Shutdown};
use tokio::time::sleep;

async fn subsys2(shutdown: Shutdown) {
    println!("Subsystem2 started.");
    shutdown.spawn_child("Subsys3", ChildPolicy::Propagate, subsys3);
    loop {
        println!("Subsystem2 stuck ...");
        sleep(Duration::from_millis(100)).await;
    }
}

async fn subsys3(_shutdown: Shutdown) {
    println!("Subsystem3 started.");
    loop {
        println!("Subsystem3 stuck ...");
        sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Service)]
#[service(tasks)]
struct Subsys1 {}

#[lifecycle_core::tasks]
impl Subsys1 {
    #[background_task]
    async fn run(&self, shutdown: Shutdown) {
        println!("Subsystem1 started.");
        let nested = shutdown.spawn_child("Subsys2", ChildPolicy::Propagate, subsys2);
        sleep(Duration::from_millis(500)).await;
        println!("Aborting nested subsystem ...");
        nested.abort();
        sleep(Duration::from_millis(500)).await;
        println!("Nested subsystem is finished: {:?}", nested.is_finished());
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut registry = DynRegistry::with_options(RegistryOptions::default().stop_when_idle(true));
    registry.add(Arc::new(Subsys1 {}));
    registry.build()?.run_until_signal().await?;
    Ok(())
}
