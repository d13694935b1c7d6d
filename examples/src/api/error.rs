//! One error shape for every error the API returns, whoever produced it:
//!
//! ```json
//! {"status": 422, "code": "invalid_input", "error": "human-readable message"}
//! ```
//!
//! plus `"violations": [{"field", "message"}]` for scenario rules. Handlers return
//! [`ApiError`]; the extractors here ([`ApiJson`], [`ApiQuery`], [`ApiPath`]) turn axum's
//! rejections into it; the router's fallbacks cover 404 and 405; and [`normalize`] rewrites
//! any other error response that is not JSON yet (a timeout, a body over the limit), so no
//! client ever sees `text/plain` or an empty body.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::db::DbError;
use crate::flags::FlagError;
use crate::forecasts::ForecastError;
use crate::input::clip;
use crate::scenarios::ScenarioError;

/// An error response: status, machine-readable code, message, optional details.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    violations: Option<Value>,
}

impl ApiError {
    /// An error with `status`, its default code and `message`.
    pub fn new(status: StatusCode, message: impl std::fmt::Display) -> Self {
        Self {
            status,
            code: code_of(status),
            message: message.to_string(),
            violations: None,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

/// The default code of a status.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "status": self.status.as_u16(),
            "code": self.code,
            "error": self.message,
        });
        if let Some(v) = self.violations {
            body["violations"] = v;
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "database error");
        match e {
            DbError::Closed => Self::new(StatusCode::SERVICE_UNAVAILABLE, e),
            // The cause stays in the log; the client learns only that it failed.
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
        }
    }
}

impl From<FlagError> for ApiError {
    fn from(e: FlagError) -> Self {
        match e {
            FlagError::Unknown(ref name) => Self::new(
                StatusCode::NOT_FOUND,
                format!("unknown flag `{}`", clip(name)),
            ),
            FlagError::Db(e) => e.into(),
        }
    }
}

impl From<ForecastError> for ApiError {
    fn from(e: ForecastError) -> Self {
        match e {
            ForecastError::UnknownNode(ref node) => Self::new(
                StatusCode::NOT_FOUND,
                format!(
                    "unknown node `{}`: use total, a region (north, south, west) or region/product",
                    clip(node)
                ),
            ),
            ForecastError::Horizon(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e),
            ForecastError::NoData => Self::new(StatusCode::SERVICE_UNAVAILABLE, e),
            ForecastError::Db(e) => e.into(),
        }
    }
}

impl From<ScenarioError> for ApiError {
    fn from(e: ScenarioError) -> Self {
        match e {
            ScenarioError::Invalid(ref v) => {
                let mut err = Self::new(StatusCode::UNPROCESSABLE_ENTITY, &e);
                err.violations = serde_json::to_value(v).ok();
                err
            }
            ScenarioError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, e),
            ScenarioError::Conflict { .. } => Self::new(StatusCode::CONFLICT, e),
            ScenarioError::Forecast(e) => e.into(),
            ScenarioError::Db(e) => e.into(),
        }
    }
}

/// `axum::Json` whose rejection is an [`ApiError`] (400 malformed, 415 wrong content type,
/// 413 too large, 422 a value out of range).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(r) => Err(ApiError::new(r.status(), r.body_text())),
        }
    }
}

/// `axum::extract::Query` whose rejection is an [`ApiError`] (422 with the field named).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(Self(q.0)),
            Err(r) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                r.body_text(),
            )),
        }
    }
}

/// `axum::extract::Path` whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Self(p.0)),
            Err(r) => {
                let status = r.status();
                Err(
                    ApiError::new(status, r.body_text()).with_code(if status.is_server_error() {
                        "internal"
                    } else {
                        "invalid_path"
                    }),
                )
            }
        }
    }
}

/// 404 for every path no route matches.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

/// 405 for a known path with another method (axum keeps the `Allow` header).
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}

/// The JSON body of a panic caught by `CatchPanicLayer`: the panic's message stays in the
/// log, the client gets a 500 in the one shape.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// Rewrites an error response that is not JSON (produced by a layer: timeout, body limit)
/// into the one error shape, keeping its status and other headers (`Allow`, `Retry-After`).
pub async fn normalize(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let replaced = ApiError::new(status, message).into_response();
    let (new_parts, body) = replaced.into_parts();
    parts.headers.extend(new_parts.headers);
    Response::from_parts(parts, body)
}
