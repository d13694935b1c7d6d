//! The raw options of `#[lifecycle_core::tasks(…)]` and `#[background_task(…)]`.

use darling::FromMeta;
use darling::util::{Flag, SpannedValue};

use crate::duration::DurationLit;

/// `#[lifecycle_core::tasks(crate = path)]`.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct TasksAttr {
    /// Path to `lifecycle_core`.
    #[darling(rename = "crate")]
    pub(crate) krate: Option<syn::Path>,
}

/// `#[background_task(…)]`.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct TaskAttr {
    pub(crate) every: Option<DurationLit>,
    pub(crate) initial_delay: Option<DurationLit>,
    pub(crate) name: Option<SpannedValue<String>>,
    pub(crate) restart: Option<SpannedValue<RestartAttr>>,
    pub(crate) max_restarts: Option<SpannedValue<u32>>,
    pub(crate) within: Option<DurationLit>,
    pub(crate) backoff: Option<DurationLit>,
    pub(crate) max_backoff: Option<DurationLit>,
    pub(crate) jitter: Option<SpannedValue<f64>>,
    pub(crate) blocking: Flag,
}

/// `restart = "never" | "on_failure" | "always"`.
#[derive(Clone, Copy, PartialEq, Eq, FromMeta)]
#[darling(rename_all = "snake_case")]
pub(crate) enum RestartAttr {
    Never,
    OnFailure,
    Always,
}
