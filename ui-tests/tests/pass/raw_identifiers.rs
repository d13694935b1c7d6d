//! Raw identifiers as field, method and registry field names.

use std::sync::Arc;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Database {}

#[derive(Service)]
#[service(tasks)]
struct Worker {
    #[depends_on]
    r#ref: Arc<Database>,
    r#type: u32,
}

#[lifecycle_core::tasks]
impl Worker {
    #[on_start]
    async fn r#async(&self) {
        let _ = (&self.r#ref, self.r#type);
    }

    #[background_task(every = "1s")]
    async fn r#loop(&self) {}
}

#[derive(Registry)]
struct App {
    r#type: Database,
    r#move: Worker,
}

fn main() {
    let built = App::builder().r#type(Database {}).build().unwrap();
    let _ = (&built.services().r#type, &built.services().r#move.r#ref);
}
