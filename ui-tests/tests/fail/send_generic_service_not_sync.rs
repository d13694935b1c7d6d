use std::cell::Cell;

use lifecycle_core::{Registry, Service};

#[derive(Service)]
struct Cache<T: Default> {
    value: T,
}

#[derive(Registry)]
struct App {
    cache: Cache<Cell<u32>>,
}

fn main() {}
