//! A dependency cycle compiles (no trait-solver overflow, no E0275) and is reported by
//! `build()` with its path.

use std::sync::Arc;

use lifecycle_core::{BuildError, Registry, Service};

#[derive(Service)]
struct Alpha {
    #[depends_on]
    beta: Arc<Beta>,
}

#[derive(Service)]
struct Beta {
    #[depends_on]
    gamma: Arc<Gamma>,
}

#[derive(Service)]
struct Gamma {
    #[depends_on]
    alpha: Arc<Alpha>,
}

#[derive(Registry)]
struct App {
    alpha: Alpha,
    beta: Beta,
    gamma: Gamma,
}

fn main() {
    match App::builder().build() {
        Err(BuildError::Cycle { path }) => assert_eq!(path, ["alpha", "beta", "gamma", "alpha"]),
        Err(other) => panic!("expected a cycle, got {other}"),
        Ok(_) => panic!("expected a cycle"),
    }
}
