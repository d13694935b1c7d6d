use std::sync::Mutex;
use std::time::Duration;

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Counter {
    hits: Mutex<u64>,
}

#[lifecycle_core::tasks]
impl Counter {
    #[background_task(every = "1s")]
    async fn tick(&self) {
        let mut hits = self.hits.lock().unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        *hits += 1;
    }
}

fn main() {}
