use lifecycle_core::{Service, on_start};

#[derive(Service)]
struct Database {}

impl Database {
    #[on_start]
    async fn connect(&self) {}
}

fn main() {}
