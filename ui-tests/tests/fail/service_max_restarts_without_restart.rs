use lifecycle_core::Service;

#[derive(Service)]
#[service(max_restarts = 3, within = "1m")]
struct Listener {}

fn main() {}
