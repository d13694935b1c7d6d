//! The platform's operations endpoints over real HTTP on loopback: `/livez`, `/startupz`,
//! `/metrics` (parsed as Prometheus exposition) and the lifecycle page.

mod common;

use std::collections::HashMap;

use forecast_platform::{ops_routes, platform};
use serde_json::Value;

/// `name{labels}` → value, for the sample lines of a Prometheus exposition.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').expect("`name value`");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|e| panic!("{line}: not a number: {e}"));
        samples.insert(key.to_owned(), value);
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_metrics_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let built =
        platform::build(common::config(dir.path()), ops_routes::registry_options()).expect("build");
    let running = platform::start(built).await.expect("start");
    let base = format!("http://{}", running.api.local_addr().expect("bound"));
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{base}{path}")).send();

    for probe in ["/livez", "/startupz"] {
        let response = get(probe).await.unwrap();
        assert_eq!(response.status(), 200, "{probe}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["ok"], true);
        assert_eq!(body["services"].as_array().unwrap().len(), 8);
    }

    let response = get("/metrics").await.unwrap();
    assert_eq!(response.status(), 200);
    let samples = parse_exposition(&response.text().await.unwrap());
    let states = running.handle().states();
    assert_eq!(states.len(), 8);
    for (name, _) in &states {
        assert_eq!(
            samples.get(&format!("lifecycle_service_state{{service=\"{name}\"}}")),
            Some(&2.0),
            "{name} Running"
        );
        assert_eq!(
            samples.get(&format!(
                "lifecycle_service_start_duration_seconds_count{{service=\"{name}\"}}"
            )),
            Some(&1.0),
            "{name} started once"
        );
    }
    let database_start =
        samples["lifecycle_service_start_duration_seconds_sum{service=\"Database\"}"];
    let report = running.startup_report();
    let measured = report
        .services
        .iter()
        .find(|s| s.service == "Database")
        .unwrap()
        .duration
        .as_secs_f64();
    assert!(
        (database_start - measured).abs() < 0.005,
        "metrics {database_start} s vs report {measured} s"
    );

    let page = get(ops_routes::PAGE).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<tr class=\"service\"").count(), 8);
    assert_eq!(
        html.matches("data-begin-ns=").count(),
        8,
        "one bar per service"
    );
    assert!(html.contains("class=\"lifecycle-graph\""));

    running.stop().await;
}
