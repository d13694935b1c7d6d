//! `HttpApi`: the axum server, run as a supervised background task that shuts down
//! gracefully through the service's `Shutdown` handle. The listener is bound in `on_start`,
//! so a port already in use fails start-up (and rolls it back) instead of a task later.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lifecycle_core::{Health, RegistryHandle, Service, Shutdown};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::cache::Cache;
use crate::config::AppConfig;
use crate::db::{Database, DbError, PRODUCTS, REGIONS};
use crate::flags::{FeatureFlags, FlagError, FlagPatch};
use crate::forecasts::{ForecastError, Forecasts, Node};
use crate::hub::{HubEvent, WebSocketHub};
use crate::refresh::AutomatedRefresh;
use crate::scenarios::{ScenarioError, ScenarioInput, Scenarios};
use crate::views::{self, NewSale};

/// What `/readyz` and `/lifecycle` read: the running registry, attached after start-up.
#[derive(Clone)]
pub struct Introspection {
    /// The registry's handle (health, states, start-up report).
    pub handle: RegistryHandle,
    /// The dependency graph as Mermaid.
    pub mermaid: String,
}

/// The HTTP API service: depends on everything, so it starts last and stops first.
#[derive(Service)]
#[service(tasks)]
pub struct HttpApi {
    #[depends_on]
    config: Arc<AppConfig>,
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    cache: Arc<Cache>,
    #[depends_on]
    flags: Arc<FeatureFlags>,
    #[depends_on]
    refresh: Arc<AutomatedRefresh>,
    #[depends_on]
    hub: Arc<WebSocketHub>,
    #[depends_on]
    forecasts: Arc<Forecasts>,
    #[depends_on]
    scenarios: Arc<Scenarios>,
    listener: Mutex<Option<TcpListener>>,
    local_addr: OnceLock<SocketAddr>,
    introspection: Arc<OnceLock<Introspection>>,
}

/// Shared by every handler.
#[derive(Clone)]
struct AppState {
    db: Arc<Database>,
    cache: Arc<Cache>,
    flags: Arc<FeatureFlags>,
    refresh: Arc<AutomatedRefresh>,
    hub: Arc<WebSocketHub>,
    forecasts: Arc<Forecasts>,
    scenarios: Arc<Scenarios>,
    introspection: Arc<OnceLock<Introspection>>,
}

#[lifecycle_core::tasks]
impl HttpApi {
    /// The address it listens on, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr.get().copied()
    }

    /// Gives `/readyz` and `/lifecycle` the running registry. Until then they answer 503.
    pub fn attach(&self, introspection: Introspection) {
        let _ = self.introspection.set(introspection);
    }

    /// Binds the listener: a port in use fails start-up, which is rolled back.
    #[on_start]
    async fn bind(&self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", self.config.listen))?;
        let addr = listener.local_addr()?;
        let _ = self.local_addr.set(addr);
        *self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(listener);
        tracing::info!(%addr, "bound HTTP listener");
        Ok(())
    }

    /// axum until the service stops, then a graceful shutdown (no new connections, in-flight
    /// requests finish). Supervised: a failure re-binds the same address after a backoff.
    #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
    async fn serve(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        let taken = self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let listener = match taken {
            Some(l) => l,
            None => {
                let addr = self.local_addr().unwrap_or(self.config.listen);
                TcpListener::bind(addr).await?
            }
        };
        let app = router(AppState {
            db: Arc::clone(&self.db),
            cache: Arc::clone(&self.cache),
            flags: Arc::clone(&self.flags),
            refresh: Arc::clone(&self.refresh),
            hub: Arc::clone(&self.hub),
            forecasts: Arc::clone(&self.forecasts),
            scenarios: Arc::clone(&self.scenarios),
            introspection: Arc::clone(&self.introspection),
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await?;
        tracing::info!("HTTP server drained");
        Ok(())
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/lifecycle", get(lifecycle))
        .route("/flags", get(list_flags))
        .route("/flags/{name}", get(get_flag).put(put_flag))
        .route("/flags/{name}/toggle", axum::routing::post(toggle_flag))
        .route("/views", get(list_views))
        .route("/views/refresh", axum::routing::post(refresh_views))
        .route("/views/daily_totals", get(daily_totals))
        .route("/views/monthly_sales", get(monthly_sales))
        .route("/refresh", get(refresh_metrics))
        .route("/sales", axum::routing::post(add_sales))
        .route("/cache", get(cache_stats))
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
        .merge(crate::ops_routes::router(Arc::clone(&state.introspection)))
        .with_state(state)
}

/// An error as an HTTP response: status and `{"error": message}` (plus details).
struct ApiError(StatusCode, Value);

impl ApiError {
    fn new(status: StatusCode, message: impl std::fmt::Display) -> Self {
        Self(status, json!({ "error": message.to_string() }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "database error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e)
    }
}

impl From<FlagError> for ApiError {
    fn from(e: FlagError) -> Self {
        match e {
            FlagError::Unknown(_) => Self::new(StatusCode::NOT_FOUND, e),
            FlagError::Invalid(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e),
            FlagError::Db(e) => e.into(),
        }
    }
}

impl From<ForecastError> for ApiError {
    fn from(e: ForecastError) -> Self {
        match e {
            ForecastError::UnknownNode(_) => Self::new(StatusCode::NOT_FOUND, e),
            ForecastError::Horizon(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e),
            ForecastError::NoData => Self::new(StatusCode::SERVICE_UNAVAILABLE, e),
            ForecastError::Db(e) => e.into(),
        }
    }
}

impl From<ScenarioError> for ApiError {
    fn from(e: ScenarioError) -> Self {
        match e {
            ScenarioError::Invalid(ref v) => Self(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": e.to_string(), "violations": v }),
            ),
            ScenarioError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, e),
            ScenarioError::Conflict { .. } => Self::new(StatusCode::CONFLICT, e),
            ScenarioError::Forecast(e) => e.into(),
            ScenarioError::Db(e) => e.into(),
        }
    }
}

type ApiResult<T = Json<Value>> = Result<T, ApiError>;

fn to_json<T: serde::Serialize>(value: &T) -> Json<Value> {
    Json(serde_json::to_value(value).unwrap_or(Value::Null))
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

async fn list_flags(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.flags.all().into_values().collect::<Vec<_>>())
}

async fn get_flag(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult {
    let flag = s
        .flags
        .get(&name)
        .ok_or_else(|| ApiError::from(FlagError::Unknown(name)))?;
    Ok(to_json(&flag))
}

async fn put_flag(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Json(patch): Json<FlagPatch>,
) -> ApiResult {
    let flag = s.flags.update(&name, patch).await?;
    s.hub
        .broadcast(&HubEvent::FlagChanged { flag: flag.clone() });
    Ok(to_json(&flag))
}

/// Flips `enabled`.
async fn toggle_flag(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult {
    let current = s
        .flags
        .get(&name)
        .ok_or_else(|| ApiError::from(FlagError::Unknown(name.clone())))?;
    let patch = FlagPatch {
        enabled: Some(!current.enabled),
        ..FlagPatch::default()
    };
    put_flag(State(s), Path(name), Json(patch)).await
}

async fn list_views(State(s): State<AppState>) -> ApiResult {
    Ok(to_json(&s.db.call(|c| views::states(c)).await?))
}

async fn refresh_views(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    s.refresh.request_refresh();
    (
        StatusCode::ACCEPTED,
        Json(json!({ "requested": true, "watch": "/ws for view_refreshed events" })),
    )
}

#[derive(Deserialize)]
struct DailyQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

async fn daily_totals(State(s): State<AppState>, Query(q): Query<DailyQuery>) -> ApiResult {
    let limit = q.limit.unwrap_or(31).min(5000);
    let key = format!(
        "views/daily_totals?{}&{}&{limit}",
        q.from.as_deref().unwrap_or(""),
        q.to.as_deref().unwrap_or("")
    );
    let db = Arc::clone(&s.db);
    let value = s
        .cache
        .get_or_try_insert(&key, || async move {
            let rows = db
                .call(move |c| views::daily_totals(c, q.from.as_deref(), q.to.as_deref(), limit))
                .await?;
            Ok::<_, DbError>(serde_json::to_value(rows).unwrap_or(Value::Null))
        })
        .await?;
    Ok(Json((*value).clone()))
}

#[derive(Deserialize)]
struct MonthlyQuery {
    region: Option<String>,
    product: Option<String>,
}

async fn monthly_sales(State(s): State<AppState>, Query(q): Query<MonthlyQuery>) -> ApiResult {
    let key = format!(
        "views/monthly_sales?{}&{}",
        q.region.as_deref().unwrap_or(""),
        q.product.as_deref().unwrap_or("")
    );
    let db = Arc::clone(&s.db);
    let value = s
        .cache
        .get_or_try_insert(&key, || async move {
            let rows = db
                .call(move |c| views::monthly_sales(c, q.region.as_deref(), q.product.as_deref()))
                .await?;
            Ok::<_, DbError>(serde_json::to_value(rows).unwrap_or(Value::Null))
        })
        .await?;
    Ok(Json((*value).clone()))
}

async fn refresh_metrics(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.refresh.metrics().await)
}

async fn add_sales(
    State(s): State<AppState>,
    Json(rows): Json<Vec<NewSale>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    for (i, r) in rows.iter().enumerate() {
        let day_ok =
            r.day.len() == 10 && r.day.as_bytes()[4] == b'-' && r.day.as_bytes()[7] == b'-';
        if !REGIONS.contains(&r.region.as_str())
            || !PRODUCTS.contains(&r.product.as_str())
            || !day_ok
            || !r.units.is_finite()
            || r.units < 0.0
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("row {i}: needs day YYYY-MM-DD, a known region and product, units ≥ 0"),
            ));
        }
    }
    let inserted = s.db.call(move |c| views::insert_sales(c, &rows)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "inserted": inserted }))))
}

async fn cache_stats(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.cache.stats())
}

async fn list_nodes() -> Json<Value> {
    let nodes: Vec<Value> = Node::all()
        .iter()
        .map(|n| json!({ "node": n.key(), "level": n.level(), "children": n.children().iter().map(Node::key).collect::<Vec<_>>() }))
        .collect();
    Json(Value::Array(nodes))
}

#[derive(Deserialize)]
struct HorizonQuery {
    horizon: Option<usize>,
}

async fn forecast(
    State(s): State<AppState>,
    Path(node): Path<String>,
    Query(q): Query<HorizonQuery>,
) -> ApiResult {
    let horizon = q.horizon.unwrap_or(6);
    let key = format!("forecasts/{node}?{horizon}");
    let forecasts = Arc::clone(&s.forecasts);
    let value = s
        .cache
        .get_or_try_insert(&key, || async move {
            let f = forecasts.forecast(&node, horizon).await?;
            Ok::<_, ForecastError>(serde_json::to_value(f).unwrap_or(Value::Null))
        })
        .await?;
    Ok(Json((*value).clone()))
}

async fn list_scenarios(State(s): State<AppState>) -> ApiResult {
    Ok(to_json(&s.scenarios.list().await?))
}

async fn create_scenario(
    State(s): State<AppState>,
    Json(input): Json<ScenarioInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = s.scenarios.create(input).await?;
    Ok((StatusCode::CREATED, to_json(&created)))
}

async fn get_scenario(State(s): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    Ok(to_json(&s.scenarios.get(id).await?))
}

async fn update_scenario(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Json(input): Json<ScenarioInput>,
) -> ApiResult {
    Ok(to_json(&s.scenarios.update(id, input).await?))
}

#[derive(Deserialize)]
struct AuthorQuery {
    author: Option<String>,
}

async fn delete_scenario(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<AuthorQuery>,
) -> ApiResult<StatusCode> {
    s.scenarios
        .delete(id, q.author.as_deref().unwrap_or("anonymous"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn scenario_impact(State(s): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    Ok(to_json(&s.scenarios.impact(id).await?))
}

/// The upgrade only hands the socket to the hub, whose task owns the session.
async fn websocket(State(s): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let hub = Arc::clone(&s.hub);
    upgrade.on_upgrade(move |socket| async move {
        if hub.attach(socket).await.is_err() {
            tracing::warn!("websocket refused: the hub is stopping");
        }
    })
}

async fn ws_stats(State(s): State<AppState>) -> Json<Value> {
    to_json(&s.hub.stats())
}
