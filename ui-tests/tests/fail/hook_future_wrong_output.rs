use std::future::Future;

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    fn connect(&self) -> impl Future<Output = u32> + Send {
        async { 7 }
    }
}

fn main() {}
