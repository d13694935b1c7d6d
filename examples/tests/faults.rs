//! The database cannot be opened: start-up fails naming `Database`, everything that had
//! started is stopped again, nothing is left running.

mod common;

use std::time::Duration;

use forecast_platform::platform;
use lifecycle_core::testing::Recorder;
use lifecycle_core::{Phase, RegistryOptions, State};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unopenable_database_fails_start_naming_it_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let mut config = common::config(dir.path());
    config.data_dir = file.join("data"); // a directory inside a regular file
    let recorder = Recorder::new();
    let built = platform::build(config, recorder.attach(RegistryOptions::default())).unwrap();
    let error = match platform::start(built).await {
        Ok(_) => panic!("start must fail"),
        Err(e) => e,
    };
    assert_eq!(error.error.service, "Database");
    assert_eq!(error.error.phase, Phase::Start);
    let message = error.to_string();
    assert!(
        message.contains("`Database`") && message.contains("cannot open database"),
        "{message}"
    );
    assert_eq!(
        recorder.transitions_of("Database").last(),
        Some(&State::Failed)
    );
    // Services that do not need the database may have started meanwhile; they were stopped.
    for (name, state) in recorder.transitions() {
        let _ = state;
        let last = *recorder.transitions_of(&name).last().unwrap();
        assert!(last.is_terminal(), "{name} left in {last:?}");
    }
    for dependent in [
        "FeatureFlags",
        "AutomatedRefresh",
        "Forecasts",
        "Scenarios",
        "HttpApi",
    ] {
        assert!(
            recorder.transitions_of(dependent).is_empty(),
            "{dependent} never started"
        );
    }
    common::wait_no_tasks_alive(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_in_use_fails_start_naming_the_api_and_closes_the_database() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.listen = taken.local_addr().unwrap();
    let recorder = Recorder::new();
    let built = platform::build(config, recorder.attach(RegistryOptions::default())).unwrap();
    let db = std::sync::Arc::clone(&built.services().db);
    let error = match platform::start(built).await {
        Ok(_) => panic!("start must fail"),
        Err(e) => e,
    };
    assert_eq!(error.error.service, "HttpApi");
    assert!(error.to_string().contains("cannot listen on"), "{error}");
    // Everything else had started; the rollback stopped all of it, the database last.
    let stopped: Vec<&str> = error.rollback.iter().map(|r| &*r.service).collect();
    assert_eq!(stopped.len(), 7, "{stopped:?}");
    assert_eq!(stopped.last(), Some(&"Database"));
    assert!(!db.is_open(), "the rollback closed the database");
    for name in [
        "Database",
        "Cache",
        "FeatureFlags",
        "AutomatedRefresh",
        "WebSocketHub",
    ] {
        assert_eq!(
            recorder.transitions_of(name).last(),
            Some(&State::Stopped),
            "{name}"
        );
    }
    common::wait_no_tasks_alive(Duration::from_secs(2)).await;
}
