use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start(timeout = "5s")]
    async fn connect(&self) {}
}

fn main() {}
