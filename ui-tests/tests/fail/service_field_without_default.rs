use lifecycle_core::{Registry, Service};

struct Connection {}

#[derive(Service)]
struct Database {
    connection: Connection,
}

/// Not an `#[instance]`: the registry builds `Database`, which needs `Default` for `Connection`
/// (a service only ever given as an `#[instance]` does not: `pass/instance_only_without_default`).
#[derive(Registry)]
struct App {
    db: Database,
}

fn main() {
    let _ = Connection {};
}
