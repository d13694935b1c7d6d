use std::future::Future;
use std::rc::Rc;

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    fn connect(&self) -> impl Future<Output = ()> {
        let local = Rc::new(1);
        async move {
            let _local = local;
        }
    }
}

fn main() {}
