use lifecycle_core::Registry;

#[derive(Registry)]
enum App {
    Web,
    Worker,
}

fn main() {}
