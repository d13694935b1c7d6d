use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    #[on_stop]
    async fn toggle(&self) {}
}

fn main() {}
