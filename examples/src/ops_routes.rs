//! Operations endpoints from `lifecycle_core::ops`, merged into the API's router:
//!
//! - `/livez`, `/startupz` (and `/readyz` once the API's own handler gives way to it):
//!   `lifecycle_core::ops::probes`, JSON bodies, 200 or 503;
//! - `/metrics`: Prometheus exposition of `lifecycle_core::ops::metrics` (service states,
//!   start/stop durations, task failures and restarts) through `metrics-exporter-prometheus`;
//! - [`PAGE`]: a human page with the start-up timeline and the dependency graph as SVG, each
//!   service's state and health, and task failure and restart counts. No script.
//!
//! Until the API is given the running registry they answer 503, like `/readyz`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use lifecycle_core::ops::probes::{self, ProbeBody};
use lifecycle_core::{Event, Health, RegistryOptions};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::api::Introspection;

/// Where the page is served (for people); the same data as JSON is at `/lifecycle.json`.
pub const PAGE: &str = "/lifecycle";

type Shared = Arc<OnceLock<Introspection>>;

/// `(service, task)` → `(failures, restarts)`.
type TaskCounts = BTreeMap<(String, &'static str), (u64, u64)>;

/// Task failures and restarts per `(service, task)`, from the event stream.
#[derive(Default)]
struct Tally {
    tasks: Mutex<TaskCounts>,
}

/// One per process: the Prometheus recorder is global, and so is this tally.
fn tally() -> &'static Tally {
    static TALLY: OnceLock<Tally> = OnceLock::new();
    TALLY.get_or_init(Tally::default)
}

fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "no Prometheus recorder: another recorder is installed");
                None
            }
        })
        .as_ref()
}

/// The registry options the platform runs with: defaults, plus the metrics observer (with
/// the Prometheus recorder installed first, once per process) and the task tally.
pub fn registry_options() -> RegistryOptions {
    let _ = prometheus();
    lifecycle_core::ops::metrics::observe(RegistryOptions::default()).observe(|event, name| {
        let key = match *event {
            Event::TaskFailed { task, .. } | Event::TaskRestarting { task, .. } => {
                (name.to_owned(), task)
            }
            _ => return,
        };
        let mut tasks = tally().tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = tasks.entry(key).or_default();
        match event {
            Event::TaskFailed { .. } => entry.0 += 1,
            _ => entry.1 += 1,
        }
    })
}

/// The routes, for any router state.
pub fn router<S: Clone + Send + Sync + 'static>(introspection: Shared) -> Router<S> {
    Router::new()
        .route("/livez", get(livez))
        .route("/startupz", get(startupz))
        .route("/metrics", get(metrics))
        .route(PAGE, get(page))
        .with_state(introspection)
}

fn starting(probe: probes::Probe) -> Response {
    let mut body = ProbeBody::empty(probe);
    body.ok = false;
    body.reason = Some("the registry is still starting".to_owned());
    body.into_response()
}

async fn livez(State(i): State<Shared>) -> Response {
    match i.get() {
        Some(i) => probes::liveness(&i.handle).into_response(),
        // Alive while starting: the startup probe holds the others back.
        None => ProbeBody::empty(probes::Probe::Liveness).into_response(),
    }
}

async fn startupz(State(i): State<Shared>) -> Response {
    match i.get() {
        Some(i) => probes::startup(&i.handle).into_response(),
        None => starting(probes::Probe::Startup),
    }
}

async fn metrics() -> Response {
    match prometheus() {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no Prometheus recorder").into_response(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(i): State<Shared>) -> Response {
    let Some(i) = i.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Html("<!doctype html><title>starting</title><p>The registry is still starting.</p>"),
        )
            .into_response();
    };
    let health = i.handle.health().await;
    let startup = i.handle.startup_report();
    let tasks = tally()
        .tasks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();

    let mut rows = String::new();
    for s in &health.services {
        let (health_class, said) = match &s.health {
            Health::Healthy => ("healthy", String::new()),
            Health::Degraded(why) => ("degraded", why.clone()),
            Health::Unhealthy(why) => ("unhealthy", why.clone()),
            _ => ("unknown", String::new()),
        };
        let timing = startup.services.iter().find(|t| t.service == s.name);
        let mut task_cells = String::new();
        for ((service, task), (failures, restarts)) in &tasks {
            if *service == s.name {
                let _ = write!(
                    task_cells,
                    "task {task}: {failures} failed, {restarts} restarted<br>"
                );
            }
        }
        let _ = writeln!(
            rows,
            r#"<tr class="service" data-name="{name}" data-state="{state}"><td>{name}</td><td class="state {state_lower}">{state}</td><td class="{health_class}">{health_class} {said}</td><td>{started}</td><td>{tasks}</td></tr>"#,
            name = escape(&s.name),
            state = s.state,
            state_lower = s.state.to_string().to_ascii_lowercase(),
            said = escape(&said),
            started = timing.map_or_else(String::new, |t| format!("{:.1?}", t.duration)),
            tasks = if task_cells.is_empty() {
                "no failure".to_owned()
            } else {
                task_cells
            },
        );
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>forecast-platform: lifecycle</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #d1d5db; padding: .3rem .6rem; text-align: left; }}
.running {{ background: #bbf7d0; }} .failed, .unhealthy {{ background: #fecaca; }} .stopping, .degraded {{ background: #fed7aa; }}
figure {{ margin: 1rem 0; overflow-x: auto; }}
</style></head>
<body>
<h1>forecast-platform</h1>
<p id="summary">ready: {ready}, live: {live}; start-up took {total:.1?}, critical path {critical}</p>
<h2>Services</h2>
<table id="services"><tr><th>service</th><th>state</th><th>health</th><th>on_start</th><th>tasks</th></tr>
{rows}</table>
<h2>Start-up</h2>
<figure id="timeline">{timeline}</figure>
<h2>Dependencies</h2>
<figure id="graph">{graph}</figure>
<p>JSON: <a href="/lifecycle.json">/lifecycle.json</a> · probes: <a href="/livez">/livez</a> <a href="/readyz">/readyz</a> <a href="/startupz">/startupz</a> · <a href="/metrics">/metrics</a></p>
</body></html>
"#,
        ready = health.ready,
        live = health.live,
        total = startup.total,
        critical = escape(&startup.critical_path.join(" → ")),
        timeline = startup.to_svg(),
        graph = i.handle.to_svg(),
    );
    Html(html).into_response()
}
