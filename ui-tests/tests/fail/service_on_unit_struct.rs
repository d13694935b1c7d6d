use lifecycle_core::Service;

#[derive(Service)]
struct Database;

fn main() {}
