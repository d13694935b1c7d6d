//! The tasks block is matched to its service by trait, not by spelling: an alias works, and
//! the block keeps items that are not hooks or tasks.

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

type ThePoller = Poller;

#[lifecycle_core::tasks]
impl ThePoller {
    const LIMIT: u32 = 3;

    #[on_start]
    async fn connect(&self) -> Result<(), String> {
        if Self::LIMIT > 0 {
            Ok(())
        } else {
            Err(String::from("no budget"))
        }
    }

    #[background_task(every = "1s")]
    async fn poll(&self) {
        self.helper();
    }

    fn helper(&self) {}
}

fn main() {}
