use lifecycle_core::Service;

#[derive(Service)]
#[service(stop_timeout = "6000000h")]
struct Database {}

fn main() {}
