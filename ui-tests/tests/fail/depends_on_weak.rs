use std::sync::Weak;

use lifecycle_core::Service;

#[derive(Service)]
struct Database {}

#[derive(Service)]
struct Repository {
    #[depends_on]
    db: Weak<Database>,
}

fn main() {}
