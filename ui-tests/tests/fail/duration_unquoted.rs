use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = 30s)]
struct Database {}

fn main() {}
