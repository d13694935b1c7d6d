use lifecycle_core::Service;

#[derive(Service)]
#[service(on_exit = "stop")]
struct Database {}

fn main() {}
