//! Administration along the graph, in the flagship: an operator restarts `Database` through
//! `POST /admin/restart/Database` (enabled with `--admin`). Exactly `Database` and its
//! transitive dependents stop and start again; `Cache` and `WebSocketHub`, which do not depend
//! on it, never change state; `/healthz` keeps answering throughout (the API restarts too,
//! but keeps its listening socket, so requests wait in the backlog instead of being refused).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lifecycle_core::{Event, State};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_database_restarts_exactly_its_dependents_while_healthz_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.admin = true;
    let (running, base) = common::start(config).await;
    let handle = running.handle();
    let mut events = handle.subscribe();
    let http = reqwest::Client::new();

    // /healthz, polled without pause during the whole restart, one new connection per
    // request: a new connection waits in the kept socket's backlog while the API restarts.
    // (An idle keep-alive connection is closed when the API's server stops, as at any stop;
    // a client reusing it must retry, as HTTP/1.1 allows for idempotent requests.)
    let polling = Arc::new(AtomicBool::new(true));
    let poller = {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let (base, polling) = (base.clone(), Arc::clone(&polling));
        tokio::spawn(async move {
            let (mut ok, mut retried, mut failed) = (0u32, 0u32, Vec::new());
            while polling.load(Ordering::Relaxed) {
                // A connection accepted by the stopping server before it read the request is
                // closed unanswered (no request was in flight): retried once, as browsers and
                // load balancers retry an idempotent request on a closed connection. An HTTP
                // error status is never retried.
                let mut attempt = http.get(format!("{base}/healthz")).send().await;
                if attempt.as_ref().is_err_and(|e| !e.is_status()) {
                    retried += 1;
                    attempt = http.get(format!("{base}/healthz")).send().await;
                }
                match attempt {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) => failed.push(r.status().to_string()),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (ok, retried, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;

    let r = http
        .post(format!("{base}/admin/restart/Database"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{:?}", r.text().await);

    // Collect state transitions until the restart ends.
    let mut moved: Vec<(String, State)> = Vec::new();
    let finished = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(Event::State { service, to, .. }) => {
                    moved.push((handle.service_name(service).unwrap_or("?").to_owned(), to))
                }
                Ok(Event::Admin {
                    finished: true, ok, ..
                }) => return ok,
                Ok(_) => {}
                Err(e) => panic!("event stream: {e}"),
            }
        }
    })
    .await
    .expect("the restart finishes");
    assert!(finished, "the restart succeeded");
    tokio::time::sleep(Duration::from_millis(50)).await;
    polling.store(false, Ordering::Relaxed);
    let (ok, retried, failed) = poller.await.unwrap();
    eprintln!("/healthz during the restart: {ok} answered, {retried} retried once");
    assert!(
        retried <= 2,
        "at most the connections the stopping server had just accepted"
    );

    let restarted: BTreeSet<&str> = moved.iter().map(|(n, _)| n.as_str()).collect();
    let expected: BTreeSet<&str> = [
        "Database",
        "FeatureFlags",
        "Forecasts",
        "Scenarios",
        "AutomatedRefresh",
        "HttpApi",
    ]
    .into_iter()
    .collect();
    assert_eq!(
        restarted, expected,
        "exactly Database and its dependents: {moved:?}"
    );
    for name in &expected {
        let states: Vec<State> = moved
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(
            states,
            [
                State::Stopping,
                State::Stopped,
                State::Starting,
                State::Running
            ],
            "{name}"
        );
    }
    // The dependents stopped before Database and started after it.
    let position = |name: &str, state: State| {
        moved
            .iter()
            .position(|(n, s)| n == name && *s == state)
            .unwrap()
    };
    assert!(position("HttpApi", State::Stopped) < position("Database", State::Stopping));
    assert!(position("Database", State::Running) < position("HttpApi", State::Starting));
    assert!(
        failed.is_empty(),
        "/healthz failed during the restart: {failed:?}"
    );
    assert!(ok > 0, "/healthz was polled");
    for (name, state) in handle.states() {
        assert_eq!(state, State::Running, "{name}");
    }

    // Without --admin the endpoint does not exist (and says why, in the JSON shape).
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    let dir = tempfile::tempdir().unwrap();
    let (running, base) = common::start(common::config(dir.path())).await;
    let r = http
        .post(format!("{base}/admin/restart/Database"))
        .send()
        .await
        .unwrap();
    common::assert_error(r, 404).await;
    running.stop().await;
}
