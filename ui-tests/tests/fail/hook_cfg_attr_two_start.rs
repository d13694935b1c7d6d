use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[cfg_attr(all(), on_start)]
    async fn connect(&self) {}

    #[on_start]
    async fn migrate(&self) {}
}

fn main() {}
