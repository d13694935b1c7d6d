//! The smallest useful example: two services, one depending on the other, composed in a
//! registry. Start runs in dependency order, stop in reverse.
//!
//! `cargo run -p lifecycle-examples --example minimal`

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use lifecycle_core::{Registry, Service};

/// A connection pool: opened at start, closed at stop.
#[derive(Service)]
#[service(tasks)]
struct Pool {
    #[service(default = 4)]
    size: u32,
    open: AtomicU32, // `Default`
}

#[lifecycle_core::tasks]
impl Pool {
    #[on_start]
    async fn open(&self) {
        self.open.store(self.size, Ordering::SeqCst);
        println!("Pool: opened {} connections", self.size);
    }

    #[on_stop]
    async fn close(&self) {
        let n = self.open.swap(0, Ordering::SeqCst);
        println!("Pool: closed {n} connections");
    }
}

/// Uses the pool: the registry hands it the shared instance.
#[derive(Service)]
#[service(tasks)]
struct Greeter {
    #[depends_on]
    pool: Arc<Pool>,
}

#[lifecycle_core::tasks]
impl Greeter {
    #[on_start]
    async fn start(&self) -> Result<(), std::io::Error> {
        println!(
            "Greeter: started after the pool ({} connections open)",
            self.pool.open.load(Ordering::SeqCst)
        );
        Ok(())
    }

    #[on_stop]
    async fn stop(&self) {
        println!("Greeter: stopped before the pool");
    }
}

impl Greeter {
    fn greet(&self, name: &str) -> String {
        format!("hello, {name}")
    }
}

/// The application. Leave `pool` out and `Greeter`'s `#[depends_on]` does not compile.
#[derive(Registry)]
struct App {
    pool: Pool,
    greeter: Greeter,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let running = App::builder().build()?.start().await?;
    println!("{}", running.greeter.greet("lifecycle")); // typed access, no lookup
    let report = running.stop().await;
    println!("stop order: {}", report.stop_order().join(" -> "));
    assert_eq!(report.stop_order(), ["Greeter", "Pool"]);
    Ok(())
}
