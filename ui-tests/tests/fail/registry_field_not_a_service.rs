use lifecycle_core::Registry;

struct Config {
    _url: String,
}

#[derive(Registry)]
struct App {
    config: Config,
}

fn main() {}
