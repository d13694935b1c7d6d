//! The raw options of `#[service(…)]` on the struct and on its fields, as darling parses them.

use darling::FromMeta;
use syn::Expr;

use crate::duration::DurationLit;
use crate::options::{CratePath, FlagOpt, Text, VerbatimExpr};

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

/// `#[service(…)]` on a field.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct FieldAttr {
    /// The field's initial value (default: `Default::default()`).
    pub(crate) default: Option<VerbatimExpr>,
}
