use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

impl Poller {
    async fn poll(&self) {}
}

fn main() {}
