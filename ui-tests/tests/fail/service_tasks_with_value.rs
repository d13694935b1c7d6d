use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks = true)]
struct Database {}

fn main() {}
