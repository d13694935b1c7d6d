use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "30s1m")]
struct Database {}

fn main() {}
