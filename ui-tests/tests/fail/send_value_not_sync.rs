use std::rc::Rc;

use lifecycle_core::{Registry, Service};

struct Config {
    _url: Rc<str>,
}

#[derive(Service)]
struct Database {}

#[derive(Registry)]
struct App {
    #[value]
    config: Config,
    db: Database,
}

fn main() {}
