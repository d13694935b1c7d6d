use std::rc::Rc;
use std::time::Duration;

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Counter {}

#[lifecycle_core::tasks]
impl Counter {
    #[on_start]
    async fn warm_up(&self) {
        let shared = Rc::new(1_u64);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let _ = shared;
    }
}

fn main() {}
