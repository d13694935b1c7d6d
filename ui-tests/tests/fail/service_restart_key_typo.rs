use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "on_failure", max_restart = 3)]
struct Listener {}

fn main() {}
