use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "-1s")]
struct Database {}

fn main() {}
