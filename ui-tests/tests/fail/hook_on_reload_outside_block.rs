use lifecycle_core::{Service, on_reload};

#[derive(Service)]
struct Config {}

impl Config {
    #[on_reload]
    async fn reread(&self) {}
}

fn main() {}
