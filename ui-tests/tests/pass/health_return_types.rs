//! `#[health]` may return `Health`, `bool` or `Result<(), E>`, sync or async.

use lifecycle_core::{Health, Service};

#[derive(Service)]
#[service(tasks)]
struct A {}

#[lifecycle_core::tasks]
impl A {
    #[health]
    async fn check(&self) -> Health {
        Health::degraded("slow")
    }
}

#[derive(Service)]
#[service(tasks)]
struct B {}

#[lifecycle_core::tasks]
impl B {
    #[health]
    fn check(&self) -> bool {
        true
    }
}

#[derive(Service)]
#[service(tasks)]
struct C {}

#[lifecycle_core::tasks]
impl C {
    #[health]
    async fn check(&self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

fn main() {}
