use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "always")]
struct Listener {}

fn main() {}
