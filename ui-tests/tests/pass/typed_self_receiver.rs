//! `self: &Self` is `&self` written out; a task taking a renamed `Shutdown` by arity.

use lifecycle_core::Service;

type Stop = lifecycle_core::Shutdown;

#[derive(Service)]
#[service(tasks)]
struct Poller {}

#[lifecycle_core::tasks]
impl Poller {
    #[on_start]
    async fn connect(self: &Self) {}

    #[background_task(every = "1s")]
    async fn poll(self: &Self, halt: Stop) {
        let _ = halt.is_cancelled();
    }
}

fn main() {}
