//! Port of tokio-graceful-shutdown's `11_double_panic.rs`: Subsys2, a child of Subsys1, panics;
//! the panic propagates to Subsys1's task, whose policy (`restart = never`, the default)
//! escalates, so the registry stops gracefully. Subsys1's clean-up then panics as well, and
//! still Subsys3 (Subsys1's other child) shuts down cleanly. Exits 1; the error names the
//! service and the child's path, and the stop report lists both panics.
//!
//! `cargo run -p lifecycle-examples --example tgs_double_panic`   (exits 1 after about 1.2 s)

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{ChildPolicy, DynRegistry, Service, Shutdown};
use tokio::time::sleep;

async fn subsys2(_shutdown: Shutdown) {
    println!("Subsystem2 started.");
    sleep(Duration::from_millis(500)).await;
    panic!("Subsystem2 panicked!")
}

async fn subsys3(shutdown: Shutdown) {
    println!("Subsystem3 started.");
    shutdown.cancelled().await;
    println!("Shutting down Subsystem3 ...");
    sleep(Duration::from_millis(500)).await;
    println!("Subsystem3 shut down successfully.");
}

#[derive(Service)]
#[service(tasks, stop_timeout = "1s")]
struct Subsys1 {}

#[lifecycle_core::tasks]
impl Subsys1 {
    #[background_task]
    async fn run(&self, shutdown: Shutdown) {
        shutdown.spawn_child("Subsys2", ChildPolicy::Propagate, subsys2);
        shutdown.spawn_child("Subsys3", ChildPolicy::Propagate, subsys3);
        println!("Subsystem1 started.");
        shutdown.cancelled().await;
    }

    #[on_stop]
    async fn clean_up(&self) {
        println!("Shutting down Subsystem1 ...");
        sleep(Duration::from_millis(200)).await;
        panic!("Subsystem1 panicked!");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Subsys1 {}));
    match registry.build()?.run_until_signal().await {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("Error: {e}");
            if let Some(report) = e.report() {
                eprintln!("{}", report.summary());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
