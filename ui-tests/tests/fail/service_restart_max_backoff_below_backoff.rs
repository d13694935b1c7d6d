use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "on_failure", backoff = "10s", max_backoff = "1s")]
struct Listener {}

fn main() {}
