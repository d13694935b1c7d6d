use lifecycle_core::{Service, Shutdown};

#[derive(Service)]
#[service(tasks)]
struct Importer {}

#[lifecycle_core::tasks]
impl Importer {
    #[background_task(restart = "always", on_exit = "stop")]
    async fn import(&self, _shutdown: Shutdown) {}
}

fn main() {}
