use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = on_failure)]
struct Listener {}

fn main() {}
