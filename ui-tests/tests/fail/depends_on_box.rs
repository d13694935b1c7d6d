use lifecycle_core::Service;

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Box<Database>,
}

fn main() {}
