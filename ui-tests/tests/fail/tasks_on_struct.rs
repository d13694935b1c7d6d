#[lifecycle_core::tasks]
struct Poller {}

fn main() {}
