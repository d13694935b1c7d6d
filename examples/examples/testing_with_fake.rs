//! Testing a service with a fake dependency. The service depends on a trait object,
//! `Arc<dyn PriceFeed>`; production provides it with a real feed, the test with a scripted
//! fake. No global getter to patch: the registry is the only place the wiring happens.
//! Paused time makes the 60 s schedule free.
//!
//! `cargo run -p lifecycle-examples --example testing_with_fake`
//! (in a real crate, `main` below would be a `#[tokio::test(start_paused = true)]`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_core::testing::{Recorder, assert_no_tasks_alive};
use lifecycle_core::{Registry, RegistryOptions, Service, State};

/// What the alerting service needs: a price.
trait PriceFeed: Send + Sync + 'static {
    fn price(&self, symbol: &str) -> Result<f64, String>;
}

/// Raises an alert when the price crosses a threshold; checks every 60 s.
#[derive(Service)]
#[service(tasks)]
struct PriceAlerts {
    #[depends_on]
    feed: Arc<dyn PriceFeed>,
    #[service(default = 100.0)]
    threshold: f64,
    alerts: Mutex<Vec<String>>,
}

#[lifecycle_core::tasks]
impl PriceAlerts {
    #[background_task(every = "60s", backoff = "5s", max_backoff = "5s", jitter = 0.0)]
    async fn check(&self) -> Result<(), String> {
        let price = self.feed.price("ACME")?;
        if price > self.threshold {
            let mut alerts = self.alerts.lock().unwrap();
            alerts.push(format!("ACME at {price} > {}", self.threshold));
        }
        Ok(())
    }
}

/// The production feed would call an exchange here.
#[derive(Service)]
struct ExchangeFeed {}

impl PriceFeed for ExchangeFeed {
    fn price(&self, _symbol: &str) -> Result<f64, String> {
        Err("no network in this example".into())
    }
}

/// Production: the real feed provides `dyn PriceFeed`.
#[derive(Registry)]
struct Production {
    #[provide(dyn PriceFeed)]
    feed: ExchangeFeed,
    alerts: PriceAlerts,
}

/// The fake: scripted prices, then errors. A plain service with no hooks.
#[derive(Service)]
struct FakeFeed {
    script: Mutex<Vec<Result<f64, String>>>,
}

impl PriceFeed for FakeFeed {
    fn price(&self, _symbol: &str) -> Result<f64, String> {
        let mut script = self.script.lock().unwrap();
        if script.is_empty() {
            Err("script exhausted".into())
        } else {
            script.remove(0)
        }
    }
}

/// The test's registry: same service, fake dependency.
#[derive(Registry)]
struct UnderTest {
    #[provide(dyn PriceFeed)]
    feed: FakeFeed,
    alerts: PriceAlerts,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Production wiring compiles too (and is not started here).
    let _production = Production::builder().build()?;

    let recorder = Recorder::new();
    let fake = FakeFeed {
        script: Mutex::new(vec![
            Ok(90.0),
            Ok(120.0),
            Err("feed down".into()),
            Ok(130.0),
        ]),
    };
    let running = UnderTest::builder()
        .feed(fake)
        .options(recorder.attach(RegistryOptions::default().seed(1)))
        .build()?
        .start()
        .await?;
    // t = 0: 90 (no alert); t = 60: 120 (alert); t = 120: error, retried after 5 s backoff;
    // t = 125: 130 (alert).
    tokio::time::sleep(Duration::from_secs(126)).await;
    let alerts = running.alerts.alerts.lock().unwrap().clone();
    println!("alerts: {alerts:?}");
    println!(
        "task failures seen: {}",
        recorder.task_failures("PriceAlerts")
    );
    assert_eq!(alerts, ["ACME at 120 > 100", "ACME at 130 > 100"]);
    assert_eq!(recorder.task_failures("PriceAlerts"), 1);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    assert_eq!(
        recorder.transitions_of("PriceAlerts"),
        [
            State::Starting,
            State::Running,
            State::Stopping,
            State::Stopped
        ]
    );
    assert_no_tasks_alive().await;
    println!("ok: the service was tested against a fake, on virtual time");
    Ok(())
}
