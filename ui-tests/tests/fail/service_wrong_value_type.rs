use lifecycle_core::Service;

#[derive(Service)]
#[service(name = 42)]
struct Database {}

fn main() {}
