use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[health]
    fn ping(&self) -> bool {
        true
    }

    #[cfg_attr(not(any()), health)]
    fn deep_check(&self) -> bool {
        true
    }
}

fn main() {}
