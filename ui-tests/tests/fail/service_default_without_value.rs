use lifecycle_core::Service;

#[derive(Service)]
struct Database {
    #[service(default)]
    retries: u32,
}

fn main() {}
