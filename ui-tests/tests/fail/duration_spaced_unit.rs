use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "30 sec")]
struct Database {}

fn main() {}
