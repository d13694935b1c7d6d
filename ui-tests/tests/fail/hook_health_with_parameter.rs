use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[health]
    fn check(&self, deep: bool) -> bool {
        deep
    }
}

fn main() {}
