//! Why a stop was requested: the reason a service (or an operator) gave, kept as a value.

use std::borrow::Cow;
use std::sync::Arc;

use crate::BoxError;

/// Why the registry was asked to stop, as the requester said it: given to
/// [`Shutdown::request_stop_because`](crate::Shutdown::request_stop_because) or
/// [`RegistryHandle::request_stop_because`](crate::RegistryHandle::request_stop_because),
/// returned in [`RegistryStopReport::reason`](crate::RegistryStopReport::reason) (so by
/// `run_until` and `run_until_signal`), and as the source of the start error when the stop
/// cancelled start-up. The first reason given wins. The value is kept, not formatted:
/// [`find_source`](crate::find_source) gets your type back.
///
/// ```
/// use lifecycle_core::{StopReason, find_source};
/// #[derive(Debug, thiserror::Error)]
/// #[error("import finished")]
/// struct Done;
/// let reason = StopReason::new(Some("Import".into()), Box::new(Done));
/// assert_eq!(reason.to_string(), "stop requested by `Import`: import finished");
/// assert!(find_source::<Done>(&reason).is_some());
/// ```
#[derive(Debug, Clone)]
pub struct StopReason {
    /// The service that asked (its `Shutdown`, or its hook through [`Shutdown::current`](crate::Shutdown::current));
    /// `None` for a [`RegistryHandle`](crate::RegistryHandle).
    pub service: Option<Cow<'static, str>>,
    /// The reason, as given (a `&str`, a `String` or your own error type).
    pub reason: Arc<dyn std::error::Error + Send + Sync + 'static>,
}

impl StopReason {
    /// A reason given by `service` (`None`: by a handle).
    pub fn new(service: Option<Cow<'static, str>>, reason: BoxError) -> Self {
        Self {
            service,
            reason: Arc::from(reason),
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.service {
            Some(service) => write!(f, "stop requested by `{service}`: {}", self.reason),
            None => write!(f, "stop requested: {}", self.reason),
        }
    }
}

impl std::error::Error for StopReason {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The reason itself (not the `Arc`), so a downcast finds the user's type.
        Some(&*self.reason)
    }
}

/// The cause of a start-up cancelled by a stop request: carries the request's reason.
#[derive(Debug)]
pub(crate) struct StopDuringStartup(pub(crate) Option<StopReason>);

impl std::fmt::Display for StopDuringStartup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stop requested during start-up")
    }
}

impl std::error::Error for StopDuringStartup {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .as_ref()
            .map(|r| r as &(dyn std::error::Error + 'static))
    }
}
