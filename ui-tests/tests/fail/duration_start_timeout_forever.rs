use lifecycle_core::Service;

#[derive(Service)]
#[service(start_timeout = "forever")]
struct Database {}

fn main() {}
