use lifecycle_core::Service;

#[derive(Service)]
#[service(ready_in_backoff = 1)]
struct Listener {}

fn main() {}
