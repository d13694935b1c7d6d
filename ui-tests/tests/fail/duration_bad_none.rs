use lifecycle_core::Service;

#[derive(Service)]
#[service(start_timeout = "never")]
struct Database {}

fn main() {}
