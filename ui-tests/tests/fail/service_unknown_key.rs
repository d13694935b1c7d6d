use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timout = "5s")]
struct Database {}

fn main() {}
