use std::rc::Rc;

use lifecycle_core::Service;

#[derive(Service)]
struct Counter {
    hits: Rc<u64>,
}

fn main() {}
