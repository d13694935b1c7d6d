use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(restart = "always", max_restarts = -1)]
    async fn poll(&self) {}
}

fn main() {}
