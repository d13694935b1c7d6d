use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task]
    async fn poll(&self, shutdown: impl Clone) {
        let _ = shutdown.clone();
    }
}

fn main() {}
