use lifecycle_core::{Service, Shutdown};

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task]
    async fn poll(&self, shutdown: &Shutdown) {
        shutdown.cancelled().await;
    }
}

fn main() {}
