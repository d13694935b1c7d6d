//! Port of tokio-graceful-shutdown's `10_request_shutdown.rs`: a countdown that ends the
//! program by itself (`Shutdown::request_stop`), unless Ctrl-C cancels it first. Exits 0
//! either way. The countdown is 3 s (the original's is 9 s).
//!
//! `cargo run -p lifecycle-examples --example tgs_request_shutdown`

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{DynRegistry, Service, Shutdown};
use tokio::time::sleep;

#[derive(Service)]
#[service(tasks)]
struct Countdown {}

#[lifecycle_core::tasks]
impl Countdown {
    async fn countdown(&self) {
        for i in (1..4).rev() {
            println!("Shutting down in: {i}");
            sleep(Duration::from_millis(1000)).await;
        }
    }

    #[background_task]
    async fn run(&self, shutdown: Shutdown) {
        tokio::select! {
            () = self.countdown() => shutdown.request_stop(),
            () = shutdown.cancelled() => println!("Countdown cancelled."),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut registry = DynRegistry::new();
    registry.add(Arc::new(Countdown {}));
    registry.build()?.run_until_signal().await?;
    Ok(())
}
