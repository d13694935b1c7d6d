use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    #[instance]
    db: Database,
}

fn database(services: &AppServices) -> &Database {
    &services.database
}

fn main() {
    let _ = App::builder().dbb(Database {}).build();
    let _ = database;
}
