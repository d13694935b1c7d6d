use lifecycle_core::Service;

#[derive(Service)]
#[service(hook_timeout = "0ms")]
struct Database {}

fn main() {}
