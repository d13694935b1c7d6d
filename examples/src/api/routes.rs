//! The router: every route of the API in [`router`] (add new ones there, or `merge` a router
//! in [`app`]), wrapped by the layers that bound each request, and the handlers.
//!
//! Layers, outermost first: access log (`TraceLayer`: method, path, status, latency), the
//! error normalizer (every error response in the one JSON shape), `CatchPanicLayer` (a
//! panicking handler is a 500, not a dropped connection), `TimeoutLayer` (408 past
//! `request_timeout`), `RequestBodyLimitLayer` (413 past `body_limit`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{Request, Response as HttpResponse, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use lifecycle_core::Health;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::Introspection;
use super::error::{self, ApiError, ApiJson, ApiPath, ApiQuery};
use super::server::ServerStats;
use crate::cache::{Cache, CacheKey};
use crate::config::AppConfig;
use crate::db::{Database, DbError};
use crate::flags::{FeatureFlags, FlagError, FlagPatch};
use crate::forecasts::{ForecastError, Forecasts, Node};
use crate::hub::{HubEvent, WebSocketHub};
use crate::input::{Bounded, Day, Horizon, Page, Product, Region, Text, clip};
use crate::refresh::AutomatedRefresh;
use crate::scenarios::{ScenarioInput, Scenarios};
use crate::views::{self, MAX_SALES_PER_REQUEST, NewSale};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub(crate) config: Arc<AppConfig>,
    pub(crate) db: Arc<Database>,
    pub(crate) cache: Arc<Cache>,
    pub(crate) flags: Arc<FeatureFlags>,
    pub(crate) refresh: Arc<AutomatedRefresh>,
    pub(crate) hub: Arc<WebSocketHub>,
    pub(crate) forecasts: Arc<Forecasts>,
    pub(crate) scenarios: Arc<Scenarios>,
    pub(crate) introspection: Arc<OnceLock<Introspection>>,
    pub(crate) server: Arc<ServerStats>,
}

/// The complete application: [`router`] with its fallbacks and bounding layers.
pub fn app(state: AppState) -> Router {
    let config = Arc::clone(&state.config);
    router()
        // Probes, Prometheus metrics and the lifecycle page (lifecycle-core's ops features).
        .merge(crate::ops_routes::router(Arc::clone(&state.introspection)))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::map_response(error::normalize))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(|res: &HttpResponse<Body>, latency: Duration, _: &Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
                        "request"
                    );
                })
                .on_failure(()),
        )
}

/// Every route. Another module's router can be merged here (`.merge(other)`) as long as it
/// uses the same [`AppState`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/lifecycle.json", get(lifecycle))
        .route("/flags", get(list_flags))
        .route("/flags/{name}", get(get_flag).put(put_flag))
        .route("/flags/{name}/toggle", post(toggle_flag))
        .route("/views", get(list_views))
        .route("/views/refresh", post(refresh_views))
        .route("/views/daily_totals", get(daily_totals))
        .route("/views/monthly_sales", get(monthly_sales))
        .route("/refresh", get(refresh_metrics))
        .route("/sales", post(add_sales))
        .route("/cache", get(cache_stats))
        .route("/server", get(server_stats))
        .route("/forecasts", get(list_nodes))
        .route("/forecasts/{*node}", get(forecast))
        .route("/scenarios", get(list_scenarios).post(create_scenario))
        .route(
            "/scenarios/{id}",
            get(get_scenario)
                .put(update_scenario)
                .delete(delete_scenario),
        )
        .route("/scenarios/{id}/impact", get(scenario_impact))
        .route("/ws", get(websocket))
        .route("/ws/stats", get(ws_stats))
        .route("/admin/restart/{service}", post(admin_restart))
}

/// Operator endpoint (with `--admin`): restarts one service and exactly its transitive
/// dependents, in the registry's control task. Answers 202 at once: restarting a service the
/// API depends on restarts the API too (its listener is kept, so requests wait in the
/// backlog meanwhile). The outcome is logged and visible at `/lifecycle`.
async fn admin_restart(
    State(s): State<AppState>,
    ApiPath(service): ApiPath<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !s.config.admin {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no such route (operator endpoints are off: start with --admin)",
        ));
    }
    let i = s.introspection.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the registry is still starting",
        )
    })?;
    if !i.handle.states().iter().any(|(name, _)| *name == service) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no service named `{service}`"),
        ));
    }
    let handle = i.handle.clone();
    let name = service.clone();
    tokio::spawn(async move {
        match handle.restart(name.as_str()).await {
            Ok(report) => tracing::info!(
                service = %name,
                stopped = ?report.stop_order(),
                started = ?report.start_order(),
                duration = ?report.duration,
                "operator restart done"
            ),
            Err(error) => tracing::error!(service = %name, %error, "operator restart failed"),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(json!({ "restarting": service }))))
}

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

fn to_json<T: serde::Serialize>(value: &T) -> Json<Value> {
    Json(serde_json::to_value(value).unwrap_or(Value::Null))
}

/// A cached JSON body as a response.
fn json_bytes(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn encode<T: serde::Serialize>(value: &T) -> Bytes {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn health_json(h: &Health) -> Value {
    match h {
        Health::Healthy => json!({ "status": "healthy" }),
        Health::Degraded(why) => json!({ "status": "degraded", "reason": why }),
        Health::Unhealthy(why) => json!({ "status": "unhealthy", "reason": why }),
        other => json!({ "status": format!("{other:?}") }),
    }
}

/// Liveness: the process answers and no service has failed.
async fn healthz(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let Some(i) = s.introspection.get() else {
        return (StatusCode::OK, Json(json!({ "live": true })));
    };
    let live = i
        .handle
        .states()
        .iter()
        .all(|(_, state)| *state != lifecycle_core::State::Failed);
    let status = if live {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "live": live })))
}

/// Readiness: every service Running and healthy (what a Kubernetes probe calls).
async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let Some(i) = s.introspection.get() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "reason": "starting" })),
        );
    };
    let report = i.handle.health().await;
    let services: Vec<Value> = report
        .services
        .iter()
        .map(|sh| json!({ "name": sh.name, "state": sh.state.to_string(), "health": health_json(&sh.health) }))
        .collect();
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": report.ready, "live": report.live, "services": services })),
    )
}

/// Every service's state, the start-up timings with the critical path, the graph.
async fn lifecycle(State(s): State<AppState>) -> ApiResult {
    let i = s.introspection.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the registry is still starting",
        )
    })?;
    let startup = i.handle.startup_report();
    let states: Vec<Value> = i
        .handle
        .states()
        .into_iter()
        .map(|(name, state)| json!({ "name": name, "state": state.to_string() }))
        .collect();
    let timings: Vec<Value> = startup
        .services
        .iter()
        .map(|t| {
            json!({
                "service": t.service,
                "began_after_ms": t.began_after.as_secs_f64() * 1e3,
                "duration_ms": t.duration.as_secs_f64() * 1e3,
            })
        })
        .collect();
    Ok(Json(json!({
        "services": states,
        "startup": {
            "total_ms": startup.total.as_secs_f64() * 1e3,
            "critical_path": startup.critical_path,
            "services": timings,
        },
        "mermaid": i.mermaid,
    })))
}

/// A flag name in a path: 1–64 characters.
type FlagName = Text<1, 64>;

async fn list_flags(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.flags.all().into_values().collect::<Vec<_>>())
}

async fn get_flag(State(s): State<AppState>, ApiPath(name): ApiPath<FlagName>) -> ApiResult {
    let flag = s
        .flags
        .get(name.as_str())
        .ok_or_else(|| ApiError::from(FlagError::Unknown(name.as_str().to_owned())))?;
    Ok(to_json(&flag))
}

/// Every field of the patch is range-checked while parsing: an out-of-range value is a 422
/// and nothing is stored or published.
async fn put_flag(
    State(s): State<AppState>,
    ApiPath(name): ApiPath<FlagName>,
    ApiJson(patch): ApiJson<FlagPatch>,
) -> ApiResult {
    let flag = s.flags.update(name.as_str(), patch).await?;
    s.hub
        .broadcast(&HubEvent::FlagChanged { flag: flag.clone() });
    Ok(to_json(&flag))
}

/// Flips `enabled`.
async fn toggle_flag(State(s): State<AppState>, ApiPath(name): ApiPath<FlagName>) -> ApiResult {
    let current = s
        .flags
        .get(name.as_str())
        .ok_or_else(|| ApiError::from(FlagError::Unknown(name.as_str().to_owned())))?;
    let patch = FlagPatch {
        enabled: Some(!current.enabled),
        ..FlagPatch::default()
    };
    put_flag(State(s), ApiPath(name), ApiJson(patch)).await
}

async fn list_views(State(s): State<AppState>) -> ApiResult {
    Ok(to_json(&s.db.read(views::states).await?))
}

async fn refresh_views(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    s.refresh.request_refresh();
    (
        StatusCode::ACCEPTED,
        Json(json!({ "requested": true, "watch": "/ws for view_refreshed events" })),
    )
}

/// `?from=&to=&limit=&offset=`: real dates, `from ≤ to`, limit 1–1000 (default 31).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DailyQuery {
    from: Option<Day>,
    to: Option<Day>,
    limit: Option<Bounded<1, 1000>>,
    offset: Option<Bounded<0, 1_000_000>>,
}

async fn daily_totals(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<Response> {
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("from ({from}) is after to ({to})"),
        ));
    }
    let (limit, offset) = (
        q.limit.map_or(31, Bounded::get),
        q.offset.map_or(0, Bounded::get),
    );
    let key = CacheKey::Daily {
        from: q.from,
        to: q.to,
        limit,
        offset,
    };
    cached_read(&s, key, move |c| {
        views::daily_totals(c, q.from, q.to, limit, offset)
    })
    .await
}

/// A view read through the response cache: on a miss, `read` runs on a reader connection and
/// its rows are encoded once; the cached bytes are the response.
async fn cached_read<T, F>(s: &AppState, key: CacheKey, read: F) -> ApiResult<Response>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T, DbError> + Send + 'static,
{
    let db = Arc::clone(&s.db);
    let body = s
        .cache
        .get_or_try_insert(key, || async move {
            let rows = db.read(read).await?;
            Ok::<_, DbError>(encode(&rows))
        })
        .await?;
    Ok(json_bytes(body))
}

/// `?region=&product=&limit=&offset=`: known region and product, one page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthlyQuery {
    region: Option<Region>,
    product: Option<Product>,
    limit: Option<Bounded<1, 1000>>,
    offset: Option<Bounded<0, 1_000_000>>,
}

async fn monthly_sales(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<MonthlyQuery>,
) -> ApiResult<Response> {
    let (limit, offset) = (
        q.limit.map_or(100, Bounded::get),
        q.offset.map_or(0, Bounded::get),
    );
    let key = CacheKey::Monthly {
        region: q.region,
        product: q.product,
        limit,
        offset,
    };
    cached_read(&s, key, move |c| {
        views::monthly_sales(c, q.region, q.product, limit, offset)
    })
    .await
}

async fn refresh_metrics(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.refresh.metrics().await)
}

/// Up to 1000 typed rows; the whole batch is rejected (422, nothing stored) if one row is
/// invalid.
async fn add_sales(
    State(s): State<AppState>,
    ApiJson(rows): ApiJson<Vec<NewSale>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if rows.is_empty() || rows.len() > MAX_SALES_PER_REQUEST {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("send 1–{MAX_SALES_PER_REQUEST} rows, not {}", rows.len()),
        ));
    }
    let inserted = s.db.call(move |c| views::insert_sales(c, &rows)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "inserted": inserted }))))
}

async fn cache_stats(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.cache.stats().await)
}

async fn server_stats(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.server.snapshot())
}

async fn list_nodes() -> Json<Value> {
    let nodes: Vec<Value> = Node::all()
        .iter()
        .map(|n| json!({ "node": n.key(), "level": n.level(), "children": n.children().iter().map(Node::key).collect::<Vec<_>>() }))
        .collect();
    Json(Value::Array(nodes))
}

/// `?horizon=`: 1–24 months (default 6).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HorizonQuery {
    horizon: Option<Horizon>,
}

async fn forecast(
    State(s): State<AppState>,
    ApiPath(node): ApiPath<String>,
    ApiQuery(q): ApiQuery<HorizonQuery>,
) -> ApiResult<Response> {
    let horizon = q.horizon.map_or(6, Bounded::get);
    // The key is the parsed node: unknown nodes are a 404 and never reach the cache.
    let parsed = Node::parse(&node).ok_or_else(|| ForecastError::UnknownNode(clip(&node)))?;
    let key = CacheKey::Forecast {
        node: parsed.clone(),
        horizon,
    };
    let forecasts = Arc::clone(&s.forecasts);
    let body = s
        .cache
        .get_or_try_insert(key, || async move {
            let f = forecasts
                .forecast(&parsed.key(), usize::try_from(horizon).unwrap_or(6))
                .await?;
            Ok::<_, ForecastError>(encode(&f))
        })
        .await?;
    Ok(json_bytes(body))
}

async fn list_scenarios(State(s): State<AppState>, ApiQuery(page): ApiQuery<Page>) -> ApiResult {
    let (limit, offset) = page.get();
    Ok(to_json(&s.scenarios.list(limit, offset).await?))
}

async fn create_scenario(
    State(s): State<AppState>,
    ApiJson(input): ApiJson<ScenarioInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = s.scenarios.create(input).await?;
    Ok((StatusCode::CREATED, to_json(&created)))
}

/// A scenario id in a path: a positive integer.
type ScenarioId = Bounded<1, { i64::MAX }>;

async fn get_scenario(State(s): State<AppState>, ApiPath(id): ApiPath<ScenarioId>) -> ApiResult {
    Ok(to_json(&s.scenarios.get(id.get()).await?))
}

async fn update_scenario(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<ScenarioId>,
    ApiJson(input): ApiJson<ScenarioInput>,
) -> ApiResult {
    Ok(to_json(&s.scenarios.update(id.get(), input).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorQuery {
    author: Option<crate::input::Author>,
}

async fn delete_scenario(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<ScenarioId>,
    ApiQuery(q): ApiQuery<AuthorQuery>,
) -> ApiResult<StatusCode> {
    let author = q.author.as_ref().map_or("anonymous", |a| a.as_str());
    s.scenarios.delete(id.get(), author).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn scenario_impact(State(s): State<AppState>, ApiPath(id): ApiPath<ScenarioId>) -> ApiResult {
    Ok(to_json(&s.scenarios.impact(id.get()).await?))
}

/// A session slot is reserved before the upgrade (503 past `ws_max_sessions`); the upgrade
/// only hands the socket to the hub, whose task owns the session. Client messages are
/// limited to `ws_max_message` bytes, and the buffers are kept small.
async fn websocket(State(s): State<AppState>, upgrade: WebSocketUpgrade) -> ApiResult<Response> {
    let slot = s.hub.try_reserve().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket sessions; try again later",
        )
    })?;
    let hub = Arc::clone(&s.hub);
    let max = s.config.ws_max_message;
    Ok(upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(max.saturating_mul(4))
        .on_upgrade(move |socket| async move {
            if hub.attach(socket, slot).await.is_err() {
                tracing::warn!("websocket refused: the hub is stopping");
            }
        }))
}

async fn ws_stats(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.hub.stats())
}
