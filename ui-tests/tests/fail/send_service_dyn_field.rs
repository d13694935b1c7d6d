use lifecycle_core::Service;

pub trait Clock {
    fn now(&self) -> u64;
}

#[derive(Service)]
struct Scheduler {
    clock: Box<dyn Clock>,
}

fn main() {}
