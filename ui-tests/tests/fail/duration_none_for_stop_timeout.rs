use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "none")]
struct Database {}

fn main() {}
