use lifecycle_core::{Registry, Service};

struct Legacy {}

impl Service for Legacy {
    const NAME: &'static str = "Legacy";
}

#[derive(Registry)]
struct App {
    legacy: Legacy,
}

fn main() {}
