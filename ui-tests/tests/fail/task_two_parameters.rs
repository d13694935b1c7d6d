use lifecycle_core::Service;
use lifecycle_core::Shutdown;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task]
    async fn poll(&self, _shutdown: Shutdown, _attempt: u32) {}
}

fn main() {}
