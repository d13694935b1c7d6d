use lifecycle_core::Registry;

struct Config {
    _url: String,
}

#[derive(Registry)]
struct App {
    #[value(default)]
    config: Config,
}

fn main() {}
