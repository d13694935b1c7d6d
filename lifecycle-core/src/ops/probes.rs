//! Kubernetes probes as an [`axum::Router`]: `/livez`, `/readyz` and `/startupz`.
//!
//! | path        | 200 when                                                         | else |
//! |-------------|------------------------------------------------------------------|------|
//! | `/startupz` | start-up finished                                                | 503  |
//! | `/readyz`   | every service Running and healthy, and the registry not draining | 503  |
//! | `/livez`    | no service Failed                                                | 503  |
//!
//! Every body is a JSON [`ProbeBody`] listing each service with its state and, when it is
//! why the probe fails, the reason. `/readyz` runs the services' health checks
//! (concurrently, each bounded by the registry's health timeout); `/livez` and `/startupz`
//! only read states, so they stay cheap under a tight probe period.
//!
//! Readiness turns off as soon as a stop is requested, so a load balancer stops sending new
//! requests while the services still serve the ones in flight.
//!
//! ```
//! use std::sync::Arc;
//! use lifecycle_core::{DynRegistry, Service};
//!
//! struct Db;
//! impl Service for Db { const NAME: &'static str = "Db"; }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = DynRegistry::new();
//! registry.add(Arc::new(Db));
//! let built = registry.build()?;
//! // Probes exist before start-up, so Kubernetes sees 503 until the registry is ready.
//! let app: axum::Router = axum::Router::new()
//!     .merge(lifecycle_core::ops::probes::router(built.handle()));
//! let running = built.start().await?;
//! # drop(app);
//! running.stop().await;
//! # Ok(()) }
//! ```

use axum::extract::State as Extract;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{Verdict, is_draining};
use crate::{Health, RegistryHandle, State};

/// Which probe a [`ProbeBody`] answers.
///
/// ```
/// use lifecycle_core::ops::probes::Probe;
/// assert_eq!(Probe::Readiness.path(), "/readyz");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Probe {
    /// `/livez`: no service Failed.
    Liveness,
    /// `/readyz`: every service Running and healthy, not draining.
    Readiness,
    /// `/startupz`: start-up finished.
    Startup,
}

impl Probe {
    /// The conventional path.
    pub fn path(self) -> &'static str {
        match self {
            Probe::Liveness => "/livez",
            Probe::Readiness => "/readyz",
            Probe::Startup => "/startupz",
        }
    }
}

/// The JSON body of every probe.
///
/// ```
/// use lifecycle_core::ops::probes::{Probe, ProbeBody};
/// let body: ProbeBody = serde_json::from_str(
///     r#"{"probe":"liveness","ok":true,"draining":false,"reason":null,"services":[]}"#,
/// )?;
/// assert_eq!(body, ProbeBody::empty(Probe::Liveness));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProbeBody {
    /// The probe answered.
    pub probe: Probe,
    /// Whether it passed (status 200) or not (503).
    pub ok: bool,
    /// A stop was requested (draining, stopping or stopped): readiness is off.
    pub draining: bool,
    /// Why it failed, in one line; `None` when it passed.
    pub reason: Option<String>,
    /// Each service, in registration order.
    pub services: Vec<ServiceProbe>,
}

impl ProbeBody {
    /// A passing body with no services (what an empty registry answers).
    pub fn empty(probe: Probe) -> Self {
        Self {
            probe,
            ok: true,
            draining: false,
            reason: None,
            services: Vec::new(),
        }
    }

    /// 200 if it passed, else 503.
    pub fn status(&self) -> StatusCode {
        if self.ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

impl IntoResponse for ProbeBody {
    fn into_response(self) -> Response {
        (self.status(), Json(self)).into_response()
    }
}

/// One service in a [`ProbeBody`].
///
/// ```
/// # use lifecycle_core::ops::probes::ServiceProbe;
/// fn failing(s: &ServiceProbe) -> bool { !s.ok }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceProbe {
    /// The service's name.
    pub name: String,
    /// Its lifecycle state (`"Running"`, `"Failed"`, ...).
    pub state: String,
    /// Whether this service passes the probe.
    pub ok: bool,
    /// `"healthy"`, `"degraded"` or `"unhealthy"` (readiness only: the others run no check).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health: Option<String>,
    /// Why it fails the probe, or what its health check said when degraded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Each background task: state, restarts, last error.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tasks: Vec<TaskProbe>,
}

/// One background task in a [`ServiceProbe`].
///
/// ```
/// # use lifecycle_core::ops::probes::TaskProbe;
/// fn flapping(t: &TaskProbe) -> bool { t.restarts > 3 }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskProbe {
    /// The task's name.
    pub name: String,
    /// `"running"`, `"backoff"`, `"finished"` or `"failed"`.
    pub state: String,
    /// In backoff: milliseconds until its next run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_run_in_ms: Option<u64>,
    /// Restarts so far.
    pub restarts: u32,
    /// Its last error, as text (the value stays in [`TaskStatus`](crate::task::TaskStatus)).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_error: Option<String>,
}

impl From<&crate::task::TaskStatus> for TaskProbe {
    fn from(t: &crate::task::TaskStatus) -> Self {
        let (state, next_run_in_ms) = match t.state {
            crate::task::TaskState::Running => ("running", None),
            crate::task::TaskState::Backoff { until } => (
                "backoff",
                Some(
                    u64::try_from(
                        until
                            .saturating_duration_since(tokio::time::Instant::now())
                            .as_millis(),
                    )
                    .unwrap_or(u64::MAX),
                ),
            ),
            crate::task::TaskState::Finished => ("finished", None),
            crate::task::TaskState::Failed => ("failed", None),
        };
        Self {
            name: t.name.to_owned(),
            state: state.to_owned(),
            next_run_in_ms,
            restarts: t.restarts,
            last_error: t.last_error.as_ref().map(ToString::to_string),
        }
    }
}

fn state_only(
    probe: Probe,
    handle: &RegistryHandle,
    passes: impl Fn(State) -> bool,
    why: &str,
) -> ProbeBody {
    let states = handle.states();
    let verdict = Verdict::of(&states);
    let services: Vec<ServiceProbe> = states
        .into_iter()
        .map(|(name, state)| {
            let ok = passes(state);
            let tasks = handle
                .tasks(name.as_str())
                .map(|tasks| tasks.iter().map(TaskProbe::from).collect())
                .unwrap_or_default();
            ServiceProbe {
                name,
                state: state.to_string(),
                ok,
                health: None,
                reason: (!ok).then(|| format!("{why}: {state}")),
                tasks,
            }
        })
        .collect();
    let ok = match probe {
        Probe::Liveness => verdict.live,
        _ => handle.is_started(),
    };
    let reason = (!ok).then(|| {
        let names: Vec<&str> = services
            .iter()
            .filter(|s| !s.ok)
            .map(|s| &*s.name)
            .collect();
        if names.is_empty() {
            format!("{why}: the registry is not running")
        } else {
            format!("{why}: {}", names.join(", "))
        }
    });
    ProbeBody {
        probe,
        ok,
        draining: is_draining(handle),
        reason,
        services,
    }
}

/// The liveness verdict: no service Failed. Reads states only.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) {
/// let body = lifecycle_core::ops::probes::liveness(&handle);
/// assert_eq!(body.ok, body.services.iter().all(|s| s.state != "Failed"));
/// # }
/// ```
pub fn liveness(handle: &RegistryHandle) -> ProbeBody {
    state_only(Probe::Liveness, handle, |s| s != State::Failed, "failed")
}

/// The startup verdict: start-up finished ([`RegistryHandle::is_started`]). Lists each
/// service as ok once it left New and Starting. Reads states only.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) {
/// if !lifecycle_core::ops::probes::startup(&handle).ok { println!("still starting"); }
/// # }
/// ```
pub fn startup(handle: &RegistryHandle) -> ProbeBody {
    state_only(
        Probe::Startup,
        handle,
        |s| !matches!(s, State::New | State::Starting),
        "not started",
    )
}

/// The readiness verdict: every service Running and healthy (health checks run
/// concurrently, bounded by the registry's health timeout) and the registry not draining.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) {
/// let body = lifecycle_core::ops::probes::readiness(&handle).await;
/// if !body.ok { eprintln!("not ready: {}", body.reason.unwrap_or_default()); }
/// # }
/// ```
pub async fn readiness(handle: &RegistryHandle) -> ProbeBody {
    let report = handle.health().await;
    let draining = is_draining(handle);
    let services: Vec<ServiceProbe> = report
        .services
        .into_iter()
        .map(|s| {
            let (health, said) = match s.health {
                Health::Healthy => ("healthy", None),
                Health::Degraded(why) => ("degraded", Some(why)),
                Health::Unhealthy(why) => ("unhealthy", Some(why)),
            };
            let ok = s.state == State::Running && health != "unhealthy";
            ServiceProbe {
                tasks: s.tasks.iter().map(TaskProbe::from).collect(),
                name: s.name,
                state: s.state.to_string(),
                ok,
                health: Some(health.to_owned()),
                reason: said,
            }
        })
        .collect();
    let ok = report.ready && !draining;
    let reason = if draining {
        Some("a stop was requested".to_owned())
    } else if ok {
        None
    } else {
        let names: Vec<&str> = services
            .iter()
            .filter(|s| !s.ok)
            .map(|s| &*s.name)
            .collect();
        Some(format!("not ready: {}", names.join(", ")))
    };
    ProbeBody {
        probe: Probe::Readiness,
        ok,
        draining,
        reason,
        services,
    }
}

async fn livez(Extract(handle): Extract<RegistryHandle>) -> ProbeBody {
    liveness(&handle)
}

async fn readyz(Extract(handle): Extract<RegistryHandle>) -> ProbeBody {
    readiness(&handle).await
}

async fn startupz(Extract(handle): Extract<RegistryHandle>) -> ProbeBody {
    startup(&handle)
}

/// A router serving `/livez`, `/readyz` and `/startupz` for `handle`; merge it into your
/// application's router (it works with any router state).
///
/// ```
/// # fn f(handle: lifecycle_core::RegistryHandle) {
/// #[derive(Clone)]
/// struct AppState;
/// let app: axum::Router<AppState> = axum::Router::new()
///     .merge(lifecycle_core::ops::probes::router(handle));
/// let _app: axum::Router = app.with_state(AppState);
/// # }
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(handle: RegistryHandle) -> Router<S> {
    Router::new()
        .route(Probe::Liveness.path(), get(livez))
        .route(Probe::Readiness.path(), get(readyz))
        .route(Probe::Startup.path(), get(startupz))
        .with_state(handle)
}
