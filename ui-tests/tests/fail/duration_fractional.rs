use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "1.5s")]
struct Database {}

fn main() {}
