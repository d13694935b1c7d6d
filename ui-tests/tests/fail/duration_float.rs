use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = 1.5)]
struct Database {}

fn main() {}
