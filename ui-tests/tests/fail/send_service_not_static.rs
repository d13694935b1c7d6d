use lifecycle_core::Service;

#[derive(Service)]
struct Counter<'a> {
    label: &'a str,
}

fn main() {}
