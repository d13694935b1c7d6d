use std::sync::Arc;

use lifecycle_core::Service;

trait Cache {
    fn get(&self) -> u32;
}

#[derive(Service)]
struct Repository {
    #[depends_on]
    cache: Arc<dyn Cache>,
}

fn main() {}
