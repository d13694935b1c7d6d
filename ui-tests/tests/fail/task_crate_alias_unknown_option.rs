use lifecycle_core as lc;
use lc::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lc::tasks]
impl Poller {
    #[lc::background_task(every = "1s", restrat = "always")]
    async fn poll(&self) {}
}

fn main() {}
