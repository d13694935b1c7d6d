use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "30")]
struct Database {}

fn main() {}
