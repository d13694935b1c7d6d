use lifecycle_core::Service;

#[derive(Service)]
enum Database {
    Sqlite,
    Postgres,
}

fn main() {}
