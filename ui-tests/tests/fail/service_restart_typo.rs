use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "on_failur")]
struct Listener {}

fn main() {}
