use lifecycle_core::Service;

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: &'static Database,
}

fn main() {}
