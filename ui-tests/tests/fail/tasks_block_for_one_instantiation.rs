use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Poller<T: Default + Send + Sync + 'static> {
    last: T,
}

#[lifecycle_core::tasks]
impl Poller<u32> {
    #[background_task(every = "1s")]
    async fn poll(&self) {
        let _ = self.last;
    }
}

fn main() {}
