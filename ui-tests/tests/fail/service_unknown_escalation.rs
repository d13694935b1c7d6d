use lifecycle_core::Service;

#[derive(Service)]
#[service(escalation = "stop_dependent")]
struct Database {}

fn main() {}
