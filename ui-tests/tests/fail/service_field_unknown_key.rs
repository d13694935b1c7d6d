use lifecycle_core::Service;

#[derive(Service)]
struct Database {
    #[service(defualt = 3)]
    retries: u32,
}

fn main() {}
