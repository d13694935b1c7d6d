use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(every = "5minutes")]
    async fn poll(&self) {}
}

fn main() {}
