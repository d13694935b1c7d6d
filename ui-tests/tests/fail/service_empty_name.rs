use lifecycle_core::Service;

#[derive(Service)]
#[service(name = "  ")]
struct Database {}

fn main() {}
