//! A hand-written `Service` (given to the builder) next to derived ones that depend on it.

use std::sync::Arc;

use lifecycle_core::{BoxError, Registry, Service};

struct Legacy {
    url: String,
}

impl Service for Legacy {
    const NAME: &'static str = "Legacy";

    async fn on_start(&self) -> Result<(), BoxError> {
        let _ = &self.url;
        Ok(())
    }
}

#[derive(Service)]
struct Adapter {
    #[depends_on]
    legacy: Arc<Legacy>,
}

#[derive(Registry)]
struct App {
    #[instance]
    legacy: Legacy,
    adapter: Adapter,
}

fn main() {
    let built = App::builder()
        .legacy(Legacy {
            url: "tcp://legacy".into(),
        })
        .build()
        .unwrap();
    assert_eq!(built.services().adapter.legacy.url, "tcp://legacy");
}
