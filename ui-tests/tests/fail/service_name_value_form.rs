use lifecycle_core::Service;

#[derive(Service)]
#[service = "db"]
struct Database {}

fn main() {}
