use std::cell::RefCell;

use lifecycle_core::Service;

#[derive(Service)]
struct Counter {
    name: String,
    hits: RefCell<u64>,
}

fn main() {}
