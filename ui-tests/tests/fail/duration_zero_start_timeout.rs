use lifecycle_core::Service;

#[derive(Service)]
#[service(start_timeout = "0s")]
struct Database {}

fn main() {}
