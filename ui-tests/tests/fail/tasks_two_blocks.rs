use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(every = "1s")]
    async fn poll(&self) {}
}

#[lifecycle_core::tasks]
impl Poller {
    #[on_start]
    async fn connect(&self) {}
}

fn main() {}
