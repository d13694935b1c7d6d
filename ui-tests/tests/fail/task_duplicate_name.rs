use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(every = "1s", name = "poll")]
    async fn fast(&self) {}

    #[background_task(every = "1m", name = "poll")]
    async fn slow(&self) {}
}

fn main() {}
