use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[health]
    fn check(&self) -> u8 {
        200
    }
}

fn main() {}
