use lifecycle_core::Service;

#[derive(Service)]
#[service(escalation = 1)]
struct Database {}

fn main() {}
