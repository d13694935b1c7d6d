use lifecycle_core::Registry;

#[derive(Registry)]
struct App;

fn main() {}
