use lifecycle_core::Service;

struct Connection {
    _fd: i32,
}

#[derive(Service)]
struct Database {
    connection: Connection,
}

fn main() {}
