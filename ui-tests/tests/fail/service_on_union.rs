use lifecycle_core::Service;

#[derive(Service)]
union Database {
    handle: u64,
    raw: i64,
}

fn main() {}
