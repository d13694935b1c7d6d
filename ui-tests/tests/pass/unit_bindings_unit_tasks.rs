//! Hooks and tasks returning `()` under `#![deny(unit_bindings)]` (allow-by-default, but
//! users deny it): the expansion must not bind a `()` at the user's tokens.
#![deny(unit_bindings)]

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Worker {}

#[lifecycle_core::tasks]
impl Worker {
    #[on_stop]
    fn flush(&self) {}

    #[background_task(blocking)]
    fn crunch(&self) {}

    #[background_task]
    async fn poll(&self) {}
}

fn main() {}
