use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Config {}

#[lifecycle_core::tasks]
impl Config {
    #[on_reload(timeout = "5s")]
    async fn reread(&self) {}
}

fn main() {}
