//! The raw options of `#[service(…)]` on the struct and on its fields, as darling parses them.

use darling::FromMeta;
use syn::Expr;

use crate::duration::DurationLit;
use crate::options::{BoolOpt, Count, CratePath, FlagOpt, Text, VerbatimExpr};

/// `#[service(…)]` on the struct.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct ContainerAttr {
    /// The service's name (default: the type's name).
    pub(crate) name: Option<Text>,
    /// Bound on `on_start`, or `"none"`.
    pub(crate) start_timeout: Option<StartTimeout>,
    /// Time tasks get after cancellation.
    pub(crate) stop_timeout: Option<DurationLit>,
    /// Bound on `on_stop`.
    pub(crate) hook_timeout: Option<DurationLit>,
    /// What a failure past the restart policy does.
    pub(crate) escalation: Option<EscalationAttr>,
    /// Service-level restart policy.
    pub(crate) restart: Option<ServiceRestartAttr>,
    /// Its intensity limit.
    pub(crate) max_restarts: Option<Count>,
    /// The window of `max_restarts`.
    pub(crate) within: Option<DurationLit>,
    /// The first restart's delay.
    pub(crate) backoff: Option<DurationLit>,
    /// The cap on the delay.
    pub(crate) max_backoff: Option<DurationLit>,
    /// Ready while all tasks wait in a restart backoff.
    pub(crate) ready_in_backoff: Option<BoolOpt>,
    /// The type has a `#[lifecycle_core::tasks]` block.
    pub(crate) tasks: FlagOpt,
    /// Path to `lifecycle_core`.
    #[darling(rename = "crate")]
    pub(crate) krate: Option<CratePath>,
}

/// `start_timeout = "30s"` or `start_timeout = "none"`.
#[derive(Clone, Copy)]
pub(crate) enum StartTimeout {
    None,
    After(DurationLit),
}

impl FromMeta for StartTimeout {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        if let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = crate::options::strip_group(expr)
        {
            match s.value().as_str() {
                "none" => return Ok(Self::None),
                word @ ("never" | "forever" | "infinite" | "infinity" | "unlimited" | "off"
                | "false" | "None" | "NONE") => {
                    return Err(darling::Error::custom(format!(
                        "to wait forever, write `start_timeout = \"none\"` (not \"{word}\"); otherwise a duration such as \"30s\""
                    ))
                    .with_span(s));
                }
                _ => {}
            }
        }
        crate::duration::from_expr(expr).map(Self::After)
    }
}

/// `escalation = "shutdown_registry" | "stop_dependents"`.
#[derive(Clone, Copy)]
pub(crate) enum EscalationAttr {
    ShutdownRegistry,
    StopDependents,
}

impl FromMeta for EscalationAttr {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        crate::options::choice(
            item,
            &[
                ("shutdown_registry", Self::ShutdownRegistry),
                ("stop_dependents", Self::StopDependents),
            ],
        )
        .map(|(value, _)| value)
    }
}

/// `restart = "never" | "on_failure"` on the struct.
#[derive(Clone, Copy)]
pub(crate) struct ServiceRestartAttr {
    pub(crate) on_failure: bool,
}

impl FromMeta for ServiceRestartAttr {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        if let syn::Meta::NameValue(nv) = item
            && let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = crate::options::strip_group(&nv.value)
            && s.value() == "always"
        {
            return Err(darling::Error::custom(
                "a service is restarted only when one of its tasks fails past its own policy: write `restart = \"on_failure\"` (one of \"never\", \"on_failure\"); to rerun a task that returns `Ok`, use `#[background_task(restart = \"always\")]`",
            )
            .with_span(s));
        }
        crate::options::choice(item, &[("never", false), ("on_failure", true)])
            .map(|(on_failure, _)| Self { on_failure })
    }
}

/// `#[service(…)]` on a field.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct FieldAttr {
    /// The field's initial value (default: `Default::default()`).
    pub(crate) default: Option<VerbatimExpr>,
}
