use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[cfg(all())]
    #[on_start]
    async fn connect(&self) {}

    #[cfg(not(any()))]
    #[on_start]
    async fn migrate(&self) {}
}

fn main() {}
