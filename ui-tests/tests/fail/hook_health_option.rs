use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[health]
    async fn check(&self) -> Option<String> {
        None
    }
}

fn main() {}
