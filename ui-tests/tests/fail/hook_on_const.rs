use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Database {}

#[lifecycle_core::tasks]
impl Database {
    #[on_start]
    const RETRIES: u32 = 3;
}

fn main() {}
