//! A generic service with a where-clause, its tasks block generic too, two instantiations.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Service)]
#[service(tasks)]
struct Cache<T, const N: usize>
where
    T: Default + Send + Sync + 'static,
{
    #[depends_on]
    db: Arc<Database>,
    value: T,
}

#[lifecycle_core::tasks]
impl<T, const N: usize> Cache<T, N>
where
    T: Default + Send + Sync + 'static,
{
    #[on_start]
    async fn warm(&self) {
        let _ = (&self.db, &self.value, N);
    }

    #[background_task(every = "1s")]
    async fn evict(&self) {}
}

#[derive(Registry)]
struct App {
    db: Database,
    small: Cache<u8, 4>,
    large: Cache<String, 1024>,
}

fn main() {
    let _ = App::builder().build().unwrap();
}
