use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(restart = "never", backoff = "1s", max_backoff = "1m")]
    async fn poll(&self) {}
}

fn main() {}
