use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = , name = "db")]
struct Database {}

fn main() {}
