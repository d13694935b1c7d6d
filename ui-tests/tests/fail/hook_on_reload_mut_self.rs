use lifecycle_core::Service;

#[derive(Service)]
#[service(tasks)]
struct Config {}

#[lifecycle_core::tasks]
impl Config {
    #[on_reload]
    async fn reread(&mut self) {}
}

fn main() {}
