use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[cfg_attr(all(), background_task(evry = "1s"))]
    async fn poll(&self) {}
}

fn main() {}
