use lifecycle_core::Service;

#[derive(Service)]
#[service(escalation = stop_dependents)]
struct Database {}

fn main() {}
