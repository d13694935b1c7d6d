use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "on_failure", max_restarts = -1)]
struct Listener {}

fn main() {}
