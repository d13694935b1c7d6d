use std::cell::Cell;

use lifecycle_core::Service;

#[derive(Service)]
struct Counter {
    hits: Cell<u64>,
}

fn main() {}
