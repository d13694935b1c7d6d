use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "30sec")]
struct Database {}

fn main() {}
