use lifecycle_core::{Service, background_task};

#[derive(Service)]
#[service(tasks)]
struct Poller {}

impl Poller {
    #[background_task(every = "1s")]
    async fn poll(&self) {}
}

fn main() {}
