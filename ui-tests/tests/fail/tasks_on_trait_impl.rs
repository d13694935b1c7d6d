use lifecycle_core::Service;

#[derive(Service)]
struct Poller {}

#[lifecycle_core::tasks]
impl Clone for Poller {
    fn clone(&self) -> Self {
        Poller {}
    }
}

fn main() {}
