//! The whole platform in-process on an ephemeral port, driven by real HTTP and WebSocket
//! clients: views, a flag toggle the refresh reacts to, the broadcast over WebSocket,
//! `/readyz`, then a graceful stop: recorded stop order, no task left, no half-written view.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lifecycle_core::testing::Recorder;
use lifecycle_core::{RegistryOptions, State};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use forecast_platform::platform;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON text message on `ws` whose `type` is `kind` (others are skipped).
async fn next_event(ws: &mut Ws, kind: &str) -> Value {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["type"] == kind {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("websocket ended while waiting for {kind}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("no `{kind}` event within 5 s"))
}

const SERVICES: [&str; 8] = [
    "Database",
    "Cache",
    "FeatureFlags",
    "AutomatedRefresh",
    "WebSocketHub",
    "Forecasts",
    "Scenarios",
    "HttpApi",
];

/// (dependent, dependency) pairs: the dependent must stop first.
const EDGES: [(&str, &str); 12] = [
    ("FeatureFlags", "Database"),
    ("AutomatedRefresh", "Database"),
    ("AutomatedRefresh", "FeatureFlags"),
    ("AutomatedRefresh", "Cache"),
    ("AutomatedRefresh", "WebSocketHub"),
    ("Forecasts", "Database"),
    ("Scenarios", "Forecasts"),
    ("Scenarios", "WebSocketHub"),
    ("HttpApi", "AutomatedRefresh"),
    ("HttpApi", "Scenarios"),
    ("HttpApi", "Cache"),
    ("HttpApi", "FeatureFlags"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_end_to_end_over_http_and_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path());
    let db_path = config.db_path();
    let recorder = Recorder::new();
    let built = platform::build(config, recorder.attach(RegistryOptions::default())).unwrap();
    let running = platform::start(built).await.unwrap();
    let addr = running.api.local_addr().expect("bound");
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();

    // Readiness: every service Running and healthy.
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["services"].as_array().unwrap().len(), 8);

    // Views, built at start-up, served through the cache.
    let views: Value = get("/views").await.unwrap().json().await.unwrap();
    assert!(
        views
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["generation"] == 1),
        "{views}"
    );
    let days: Value = get("/views/daily_totals?limit=7")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(days.as_array().unwrap().len(), 7);
    let _ = get("/views/daily_totals?limit=7").await.unwrap();
    let cache: Value = get("/cache").await.unwrap().json().await.unwrap();
    assert_eq!(
        (cache["hits"].as_u64(), cache["misses"].as_u64()),
        (Some(1), Some(1))
    );

    // A WebSocket client.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    next_event(&mut ws, "hello").await;

    // Refresh off, a low change threshold; new sales do not refresh anything.
    let flag = "/flags/ff.automated_refresh_v1";
    let off = http
        .put(format!("{base}{flag}"))
        .json(&json!({ "enabled": false, "change_threshold": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    let changed = next_event(&mut ws, "flag_changed").await;
    assert_eq!(changed["flag"]["enabled"], false);
    let sales = json!([
        { "day": "2023-05-01", "region": "north", "product": "widget", "units": 10.0 },
        { "day": "2023-05-01", "region": "south", "product": "gadget", "units": 20.0 },
        { "day": "2023-05-02", "region": "west", "product": "gizmo", "units": 30.0 },
    ]);
    let posted = http
        .post(format!("{base}/sales"))
        .json(&sales)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let views: Value = get("/views").await.unwrap().json().await.unwrap();
    for v in views.as_array().unwrap() {
        assert_eq!(
            (v["generation"].as_i64(), v["pending_changes"].as_i64()),
            (Some(1), Some(3))
        );
    }

    // Turning it on: the refresh reacts at once (no 30 s wait) and says so over WebSocket.
    let on = http
        .post(format!("{base}{flag}/toggle"))
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), 200);
    let first = next_event(&mut ws, "view_refreshed").await;
    let second = next_event(&mut ws, "view_refreshed").await;
    for e in [&first, &second] {
        assert_eq!(
            (e["generation"].as_i64(), e["reason"].as_str()),
            (Some(2), Some("changes"))
        );
    }
    let views: Value = get("/views").await.unwrap().json().await.unwrap();
    for v in views.as_array().unwrap() {
        assert_eq!(
            (v["generation"].as_i64(), v["pending_changes"].as_i64()),
            (Some(2), Some(0))
        );
    }
    let cache: Value = get("/cache").await.unwrap().json().await.unwrap();
    assert!(
        cache["invalidations"].as_u64().unwrap() >= 1,
        "refresh invalidated the cache: {cache}"
    );
    assert_eq!(cache["entries"], 0, "{cache}");
    let metrics: Value = get("/refresh").await.unwrap().json().await.unwrap();
    assert_eq!(
        metrics["refreshes"], 4,
        "2 initial + 2 after the flag: {metrics}"
    );

    // Forecasts and a collaborative scenario edit, broadcast.
    let total: Value = get("/forecasts/total?horizon=3")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(total["reconciled"].as_array().unwrap().len(), 3);
    let created = http
        .post(format!("{base}/scenarios"))
        .json(
            &json!({ "name": "Spring promo", "horizon": 3, "author": "ana",
                        "adjustments": [{ "node": "north", "percent": 20.0 }] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let edited = next_event(&mut ws, "scenario_edited").await;
    assert_eq!(
        (edited["id"].clone(), edited["action"].as_str()),
        (created["id"].clone(), Some("created"))
    );
    let impact: Value = get(&format!("/scenarios/{}/impact", created["id"]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let north = &impact["nodes"]["north"];
    assert!(north["adjusted"][0].as_f64().unwrap() > north["baseline"][0].as_f64().unwrap());

    // Introspection.
    let lifecycle: Value = get("/lifecycle.json").await.unwrap().json().await.unwrap();
    assert!(
        lifecycle["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "Running")
    );
    assert_eq!(lifecycle["startup"]["critical_path"][0], "Database");
    assert!(
        lifecycle["mermaid"]
            .as_str()
            .unwrap()
            .starts_with("flowchart")
    );

    // Stop. HTTP clients go first (their pooled connections are tasks of this runtime).
    drop(http);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    let order = report.stop_order();
    assert_eq!(order.len(), 8);
    assert_eq!((order[0], order[7]), ("HttpApi", "Database"));
    let pos = |s: &str| order.iter().position(|o| *o == s).unwrap();
    for (dependent, dependency) in EDGES {
        assert!(
            pos(dependent) < pos(dependency),
            "{dependent} stopped after {dependency}: {order:?}"
        );
    }
    for s in SERVICES {
        assert_eq!(
            recorder.transitions_of(s),
            [
                State::Starting,
                State::Running,
                State::Stopping,
                State::Stopped
            ],
            "{s}"
        );
    }
    // The hub closed the session with "going away".
    let close = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Away));
    let _ = ws.close(None).await;
    drop(ws);
    common::wait_no_tasks_alive(Duration::from_secs(2)).await;
    let states = common::assert_views_consistent(&db_path);
    assert!(states.iter().all(|s| s.generation == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_ping_is_answered_and_dead_session_is_forgotten_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let running = platform::start(
        platform::build(common::config(dir.path()), RegistryOptions::default()).unwrap(),
    )
    .await
    .unwrap();
    let addr = running.api.local_addr().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    next_event(&mut ws, "hello").await;
    assert_eq!(running.hub.stats().sessions, 1);
    // The heartbeat pings; the client library answers with a pong on its next read.
    running.hub.heartbeat().await;
    let ping = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .unwrap();
    assert!(matches!(ping, Some(Ok(Message::Ping(_)))), "{ping:?}");
    ws.send(Message::Close(None)).await.unwrap();
    drop(ws);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while running.hub.stats().sessions != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "session not forgotten"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
    common::wait_no_tasks_alive(Duration::from_secs(2)).await;
}
