//! The raw options of `#[lifecycle_core::tasks(…)]` and `#[background_task(…)]`.

use darling::FromMeta;
use darling::util::SpannedValue;

use crate::duration::DurationLit;
use crate::options::{Count, CratePath, FlagOpt, Fraction, Text};

/// `#[lifecycle_core::tasks(crate = path)]`.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct TasksAttr {
    /// Path to `lifecycle_core`.
    #[darling(rename = "crate")]
    pub(crate) krate: Option<CratePath>,
}

/// `#[background_task(…)]`.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct TaskAttr {
    pub(crate) every: Option<DurationLit>,
    pub(crate) initial_delay: Option<DurationLit>,
    pub(crate) name: Option<Text>,
    pub(crate) restart: Option<SpannedValue<RestartAttr>>,
    pub(crate) max_restarts: Option<Count>,
    pub(crate) within: Option<DurationLit>,
    pub(crate) backoff: Option<DurationLit>,
    pub(crate) max_backoff: Option<DurationLit>,
    pub(crate) jitter: Option<Fraction>,
    pub(crate) blocking: FlagOpt,
    pub(crate) on_exit: Option<OnExitAttr>,
}

/// `on_exit = "continue" | "stop"`, with the span of the string.
#[derive(Clone, Copy)]
pub(crate) struct OnExitAttr {
    pub(crate) stop: bool,
    pub(crate) span: proc_macro2::Span,
}

impl FromMeta for OnExitAttr {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        crate::options::choice(item, &[("continue", false), ("stop", true)])
            .map(|(stop, span)| Self { stop, span })
    }
}

/// `restart = "never" | "on_failure" | "always"`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestartAttr {
    Never,
    OnFailure,
    Always,
}

impl FromMeta for RestartAttr {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        crate::options::choice(
            item,
            &[
                ("never", Self::Never),
                ("on_failure", Self::OnFailure),
                ("always", Self::Always),
            ],
        )
        .map(|(value, _)| value)
    }
}
