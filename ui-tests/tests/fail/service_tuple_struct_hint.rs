use lifecycle_core::Service;

#[derive(Service)]
struct Database(String);

fn main() {}
