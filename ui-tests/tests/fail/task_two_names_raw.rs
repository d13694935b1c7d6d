use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(every = "1s")]
    async fn r#loop(&self) {}

    #[background_task(every = "1s", name = "loop")]
    async fn other(&self) {}
}

fn main() {}
