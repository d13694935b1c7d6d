use lifecycle_core::Service;

macro_rules! service {
    ($timeout:expr) => {
        #[derive(Service)]
        #[service(stop_timeout = $timeout)]
        struct Database {}
    };
}

service!("5");

fn main() {}
