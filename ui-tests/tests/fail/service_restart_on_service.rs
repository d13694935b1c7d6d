use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "on_failure")]
struct Database {}

fn main() {}
