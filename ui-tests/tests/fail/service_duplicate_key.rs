use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "5s", stop_timeout = "10s")]
struct Database {}

fn main() {}
