use lifecycle_core::Service;

#[derive(Service)]
#[service(name = "db")]
#[service(name = "database")]
struct Database {}

fn main() {}
