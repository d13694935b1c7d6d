use lifecycle_core::Service;

#[derive(Service)]
#[service(restart = "never", max_restarts = 3, within = "1m", backoff = "1s", max_backoff = "10s")]
struct Listener {}

fn main() {}
