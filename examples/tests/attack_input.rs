//! Attacks on input validation, from loopback against the in-process platform: every
//! rejected input answers in the one JSON error shape and changes nothing.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

const FLAG: &str = "/flags/ff.automated_refresh_v1";

/// Attack: a huge `time_threshold_secs` / `change_threshold` (the original overflowed the
/// refresh task's arithmetic, persisted the value and crash-looped). Rejected with 422; the
/// flag, the database and the refresh service are unchanged and keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_flag_is_rejected_with_422_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (running, base) = common::start(common::config(dir.path())).await;
    let http = reqwest::Client::new();
    let before: Value = http
        .get(format!("{base}{FLAG}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for body in [
        json!({ "time_threshold_secs": i64::MAX }),
        json!({ "time_threshold_secs": 9_223_372_036_854_775_807_u64 }),
        json!({ "change_threshold": 1e308 }),
        json!({ "change_threshold": -1 }),
        json!({ "change_threshold": 0 }),
        json!({ "rollout_percentage": 101 }),
        json!({ "rollout_percentage": 65_536 }),
        json!({ "enabled": "yes" }),
        json!({ "unknown_field": 1 }),
    ] {
        let r = http
            .put(format!("{base}{FLAG}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let err = common::assert_error(r, 422).await;
        assert_eq!(err["code"], "invalid_input", "{body}: {err}");
    }
    let after: Value = http
        .get(format!("{base}{FLAG}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before, after, "the flag did not change");
    // Nothing reached storage either.
    let stored: i64 = running
        .db
        .read(|c| {
            Ok(c.query_row(
                "SELECT time_threshold_secs FROM feature_flags WHERE name = 'ff.automated_refresh_v1'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, before["time_threshold_secs"].as_i64().unwrap());
    // The largest accepted value does not overflow the refresh: a check runs and succeeds.
    let r = http
        .put(format!("{base}{FLAG}"))
        .json(&json!({ "time_threshold_secs": 31_536_000, "change_threshold": 1_000_000_000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    running.refresh.request_refresh();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let m = running.refresh.metrics().await;
        if m.refreshes >= 4 {
            assert_eq!(m.failures, 0, "{m:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no refresh: {m:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(http);
    let report = running.stop().await;
    assert!(report.is_clean(), "{}", report.summary());
}

/// Attack: impossible or garbage dates (`2024-13-45`, `abcd-ef-gh`, `2023-02-29`, far
/// future), absurd numbers (`1e308`, negative, NaN-as-string) and oversized text. Each is a
/// 422 in the one error shape; one bad row rejects the whole batch; no row is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_dates_numbers_and_text_are_rejected_and_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (running, base) = common::start(common::config(dir.path())).await;
    let http = reqwest::Client::new();
    let count = || async {
        running
            .db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM sales", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap()
    };
    let rows_before = count().await;
    let good = json!({ "day": "2024-03-01", "region": "north", "product": "widget", "units": 1 });
    let bad_rows = [
        json!({ "day": "2024-13-45", "region": "north", "product": "widget", "units": 1 }),
        json!({ "day": "abcd-ef-gh", "region": "north", "product": "widget", "units": 1 }),
        json!({ "day": "2023-02-29", "region": "north", "product": "widget", "units": 1 }),
        json!({ "day": "2999-01-01", "region": "north", "product": "widget", "units": 1 }),
        json!({ "day": "1970-01-01", "region": "north", "product": "widget", "units": 1 }),
        json!({ "day": "2024-03-01", "region": "north", "product": "widget", "units": 1e308 }),
        json!({ "day": "2024-03-01", "region": "north", "product": "widget", "units": -5 }),
        json!({ "day": "2024-03-01", "region": "north", "product": "widget", "units": "NaN" }),
        json!({ "day": "2024-03-01", "region": "east", "product": "widget", "units": 1 }),
        json!({ "day": "2024-03-01", "region": "north", "product": "widget" }),
    ];
    for bad in &bad_rows {
        let r = http
            .post(format!("{base}/sales"))
            .json(&json!([good, bad]))
            .send()
            .await
            .unwrap();
        common::assert_error(r, 422).await;
    }
    let r = http
        .post(format!("{base}/sales"))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    common::assert_error(r, 422).await;
    assert_eq!(
        count().await,
        rows_before,
        "no row of a rejected batch was stored"
    );

    // Scenarios: bounded text and numbers.
    for bad in [
        json!({ "name": "x".repeat(81), "horizon": 6 }),
        json!({ "name": "ok", "horizon": 6, "description": "d".repeat(1_900_000) }),
        json!({ "name": "ok", "horizon": 25 }),
        json!({ "name": "ok", "horizon": 6, "adjustments": [{ "node": "north", "percent": 1e308 }] }),
    ] {
        let r = http
            .post(format!("{base}/scenarios"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        // 1.9 MB is over the body limit (413) before it is even parsed.
        common::assert_error(r, if status == 413 { 413 } else { 422 }).await;
    }
    let r = http
        .post(format!("{base}/scenarios"))
        .json(&json!({ "name": "ok", "horizon": 6, "adjustments": [{ "node": "mars", "percent": 1 }] }))
        .send()
        .await
        .unwrap();
    let body = common::assert_error(r, 422).await;
    assert_eq!(body["violations"][0]["field"], "adjustments[0]", "{body}");
    let listed: Value = http
        .get(format!("{base}/scenarios"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "nothing stored");

    // Query strings and paths.
    for (path, status) in [
        ("/views/daily_totals?from=2024-13-45", 422),
        ("/views/daily_totals?from=2024-05-01&to=2024-01-01", 422),
        ("/views/daily_totals?limit=1000000", 422),
        ("/views/daily_totals?limit=-1", 422),
        ("/views/daily_totals?bogus=1", 422),
        ("/views/monthly_sales?region=mars", 422),
        ("/forecasts/total?horizon=0", 422),
        ("/forecasts/total?horizon=99999999999999999999", 422),
        ("/forecasts/atlantis", 404),
        ("/scenarios/abc", 400),
        ("/scenarios/0", 400),
        ("/scenarios?limit=101", 422),
        ("/flags/nope", 404),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        common::assert_error(r, status).await;
    }
    drop(http);
    assert!(running.stop().await.is_clean());
}

/// Attack: framework-level errors (unknown path, wrong method, malformed JSON, wrong content
/// type, body over the limit, a WebSocket endpoint without upgrade) used to be `text/plain` or empty. Every one is now the JSON
/// error shape with the right status (405 keeps its `Allow` header).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_framework_error_is_the_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (running, base) = common::start(common::config(dir.path())).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/no/such/endpoint"))
        .send()
        .await
        .unwrap();
    common::assert_error(r, 404).await;
    let r = http.delete(format!("{base}/healthz")).send().await.unwrap();
    assert!(r.headers().get("allow").is_some(), "{r:?}");
    common::assert_error(r, 405).await;
    let r = http
        .post(format!("{base}/sales"))
        .header("content-type", "application/json")
        .body("[{\"day\": ")
        .send()
        .await
        .unwrap();
    common::assert_error(r, 400).await;
    let r = http
        .post(format!("{base}/sales"))
        .body("day=1")
        .send()
        .await
        .unwrap();
    common::assert_error(r, 415).await;
    // An oversized body, announced by its Content-Length: rejected before it is read. Sent by
    // hand with the head only, so the server's early answer cannot race the rest of the body
    // (a client still writing gets a reset that can swallow the 413).
    let (status, content_type, body) = oversized_head_only(&base, 300 * 1024).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], 413, "{body}");
    assert!(
        body["code"].is_string() && body["error"].is_string(),
        "{body}"
    );
    // A plain GET on the WebSocket endpoint: the upgrade extractor's rejection.
    let r = http.get(format!("{base}/ws")).send().await.unwrap();
    let status = r.status().as_u16();
    assert!(status == 400 || status == 426, "{status}");
    common::assert_error(r, status).await;
    drop(http);
    assert!(running.stop().await.is_clean());
}

/// POSTs only the head of a request announcing `length` bytes of JSON; returns the status, the
/// content type and the body of the answer.
async fn oversized_head_only(base: &str, length: usize) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /sales HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers an oversized head at once")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    // The body may be chunked: keep the JSON object only.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => body[a..=b].to_owned(),
        _ => body.to_owned(),
    };
    (status, content_type, body)
}
