use std::error::Error;

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[background_task(every = "1s")]
    async fn poll(&self) -> Result<(), Box<dyn Error>> {
        Ok(())
    }
}

fn main() {}
