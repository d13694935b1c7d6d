use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "")]
struct Database {}

fn main() {}
