use lifecycle_core::Service;

#[derive(Service)]
#[service(ready_in_backoff = "true")]
struct Listener {}

fn main() {}
