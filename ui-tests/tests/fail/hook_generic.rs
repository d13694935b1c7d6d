use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    async fn connect<T: Default>(&self) {}
}

fn main() {}
