use lifecycle_core::Service;

#[derive(Service)]
#[service(crate = 1 + 2)]
struct Database {}

fn main() {}
