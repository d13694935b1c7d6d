use lifecycle_core::Service;

#[derive(Service)]
struct Database {
    #[service(default = "three")]
    retries: u32,
}

fn main() {}
