use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

struct Url(String);

#[derive(Registry)]
struct App {
    #[value]
    primary: Url,
    #[value]
    replica: Url,
    db: Database,
}

fn main() {}
