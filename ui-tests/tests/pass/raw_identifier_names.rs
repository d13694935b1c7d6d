//! Raw identifiers do not leak into names: a registry `struct r#struct` is named "struct", a
//! service `struct r#type` is "type", a task `async fn r#loop` is "loop", and the
//! generated types are upper camel case (`StructBuilder`).

use lifecycle_core::{Registry, Service, Shutdown};

#[allow(non_camel_case_types)]
#[derive(Service)]
#[service(tasks, stop_timeout = "10ms")]
struct r#type {}

#[lifecycle_core::tasks]
impl r#type {
    /// Ignores its `Shutdown`: aborted at `stop_timeout`, so its name is in the report.
    #[background_task]
    async fn r#loop(&self, _shutdown: Shutdown) {
        std::future::pending::<()>().await;
    }
}

#[allow(non_camel_case_types)]
#[derive(Registry)]
struct r#struct {
    r#type: r#type,
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(<r#struct as Registry>::NAME, "struct");
    assert_eq!(<r#type as Service>::NAME, "type");
    let builder: StructBuilder = r#struct::builder();
    let running = builder.build().unwrap().start().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let report = running.stop().await;
    assert_eq!(report.stop_order(), ["type"]);
    let service = report.service("type").unwrap();
    assert_eq!(service.tasks_aborted, ["loop"]);
}
