use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "on_failure", max_restarts = 3, within = "0s")]
struct Listener {}

fn main() {}
