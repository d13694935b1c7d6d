//! Two `#[on_start]` (and two tasks of one name) that are alternatives under `#[cfg]`: only
//! one is ever compiled in, so the service has one start hook. Rejected today by the
//! macro-time "only one `#[on_start]`" and "two tasks named" checks, which do not see cfgs.

use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Worker {}

#[lifecycle_core::tasks]
impl Worker {
    #[cfg(any())]
    #[on_start]
    async fn connect_with_tls(&self) {}

    #[cfg(not(any()))]
    #[on_start]
    async fn connect(&self) {}

    #[cfg(any())]
    #[background_task(every = "1s", name = "poll")]
    async fn poll_fast(&self) {}

    #[cfg(not(any()))]
    #[background_task(every = "1m", name = "poll")]
    async fn poll_slow(&self) {}
}

fn main() {}
