use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[cfg(all())]
    #[background_task(every = "1s", name = "poll")]
    async fn fast(&self) {}

    #[cfg(not(any()))]
    #[background_task(every = "1m", name = "poll")]
    async fn slow(&self) {}
}

fn main() {}
