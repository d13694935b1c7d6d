//! Every macro on items declared inside a function body.

fn main() {
    use std::sync::Arc;

    use lifecycle_core::{Registry, Service};

    #[derive(Service)]
    struct Database {}

    #[derive(Service)]
    #[service(tasks)]
    struct Worker {
        #[depends_on]
        db: Arc<Database>,
    }

    #[lifecycle_core::tasks]
    impl Worker {
        #[on_start]
        async fn connect(&self) {
            let _ = &self.db;
        }

        #[background_task(every = "1s")]
        async fn poll(&self) {}
    }

    #[derive(Registry)]
    struct App {
        db: Database,
        worker: Worker,
    }

    let _ = App::builder().build().unwrap();
}
