use std::future::Future;

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(blocking)]
    fn poll(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

fn main() {}
