//! `#[derive(Service)]` on a unit struct: a service without fields, with or without tasks, in
//! a registry, started and stopped.

use std::sync::atomic::{AtomicU32, Ordering};

use lifecycle_core::{Registry, Service};

static STARTS: AtomicU32 = AtomicU32::new(0);

#[derive(Service)]
struct Marker;

#[derive(Service)]
#[service(tasks, name = "ticker")]
struct Ticker;

#[lifecycle_core::tasks]
impl Ticker {
    #[on_start]
    fn count(&self) {
        STARTS.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Registry)]
struct App {
    marker: Marker,
    ticker: Ticker,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(Marker::NAME, "Marker");
    assert!(Ticker::HAS_START_HOOK);
    let running = App::builder().build().unwrap().start().await.unwrap();
    assert_eq!(STARTS.load(Ordering::SeqCst), 1);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    let mut order = report.stop_order();
    order.sort_unstable();
    assert_eq!(order, ["Marker", "ticker"]);
}
