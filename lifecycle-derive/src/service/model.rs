//! The validated description of a service, from which the impls are generated.

use darling::error::Accumulator;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens as _, quote};
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Expr, Fields, Generics, Ident, Type};

use super::attr::{ContainerAttr, EscalationAttr, FieldAttr, StartTimeout};
use crate::common::{
    SERVICE_KEYS, TASK_KEYS, crate_path, is_attr, marker, nested_items, parse_lenient,
    without_foreign_keys,
};
use crate::duration::{DurationLit, duration_tokens};

/// A `#[derive(Service)]` struct.
pub(crate) struct ServiceModel {
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    pub(crate) krate: TokenStream,
    pub(crate) name: String,
    /// `ServiceOptions::DEFAULT` followed by these const-fn calls.
    pub(crate) options: Vec<TokenStream>,
    /// Span of the `tasks` flag, when present.
    pub(crate) tasks: Option<Span>,
    /// `None` when the shape is wrong (enum, union, tuple or unit struct).
    pub(crate) fields: Option<Vec<FieldModel>>,
}

/// One field of the struct.
pub(crate) struct FieldModel {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) kind: FieldKind,
}

/// How a field gets its value.
pub(crate) enum FieldKind {
    /// `#[depends_on]`: from the registry.
    Dependency,
    /// `#[service(default = expr)]`.
    Default(Expr),
    /// `Default::default()`.
    DefaultTrait,
}

impl ServiceModel {
    pub(crate) fn build(input: &DeriveInput, errors: &mut Accumulator) -> Self {
        let items = nested_items(&input.attrs, "service", errors);
        let items = without_foreign_keys(
            items,
            ("`#[service(…)]` on a struct", SERVICE_KEYS),
            (
                "`#[background_task(…)]`, in the `#[lifecycle_core::tasks]` impl block",
                TASK_KEYS,
            ),
            errors,
        );
        let attr = parse_lenient::<ContainerAttr>(&items, errors);
        // A `restart = …` that did not parse was reported: the policy keys next to it are
        // taken as meant (`"on_failure"`), not reported again as needing a `restart`.
        let restart_invalid = attr.restart.is_none()
            && items.iter().any(|item| {
                matches!(item, darling::ast::NestedMeta::Meta(m) if m.path().is_ident("restart"))
            });
        let krate = crate_path(attr.krate.as_ref().map(|k| &k.0));
        reject_lifetimes(input, errors);
        if let Some(error) = attr.tasks.error.clone() {
            errors.push(error);
        }

        let name = match &attr.name {
            Some(name) if name.value.trim().is_empty() => {
                errors.push(
                    darling::Error::custom("a service name cannot be empty").with_span(&name.span),
                );
                type_name(&input.ident)
            }
            Some(name) => name.value.clone(),
            None => type_name(&input.ident),
        };

        let mut options = Vec::new();
        match attr.start_timeout {
            Some(StartTimeout::None) => options.push(quote!(no_start_timeout())),
            Some(StartTimeout::After(d)) => {
                if let Some(d) = errors.handle(d.non_zero("start_timeout")) {
                    let d = d.to_tokens();
                    options.push(quote!(start_timeout(#d)));
                }
            }
            None => {}
        }
        if let Some(d) = attr.stop_timeout {
            let d = duration_tokens(d.value);
            options.push(quote!(stop_timeout(#d)));
        }
        if let Some(d) = attr.hook_timeout
            && let Some(d) = errors.handle(d.non_zero("hook_timeout"))
        {
            let d = d.to_tokens();
            options.push(quote!(hook_timeout(#d)));
        }
        if let Some(escalation) = attr.escalation {
            let variant = match escalation {
                EscalationAttr::ShutdownRegistry => quote!(ShutdownRegistry),
                EscalationAttr::StopDependents => quote!(StopDependents),
            };
            options.push(quote!(escalation(#krate::Escalation::#variant)));
        }
        options.extend(restart_options(&krate, &attr, restart_invalid, errors));
        if let Some(ready) = attr.ready_in_backoff {
            let value = ready.value;
            options.push(quote!(ready_in_backoff(#value)));
        }

        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(
                    named
                        .named
                        .iter()
                        .filter_map(|f| field(f, errors))
                        .collect(),
                ),
                Fields::Unnamed(_) => {
                    errors.push(shape_error(input, "a tuple struct"));
                    None
                }
                // A unit struct is a service without fields (built as `Self {}`).
                Fields::Unit => Some(Vec::new()),
            },
            Data::Enum(_) => {
                errors.push(shape_error(input, "an enum"));
                None
            }
            Data::Union(_) => {
                errors.push(shape_error(input, "a union"));
                None
            }
        };

        Self {
            ident: input.ident.clone(),
            generics: input.generics.clone(),
            krate,
            name,
            options,
            tasks: attr.tasks.span,
            fields,
        }
    }
}

/// The type's name without a raw-identifier prefix.
fn type_name(ident: &Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}

/// Services live behind an `Arc` for the whole run: no borrowed data.
fn reject_lifetimes(input: &DeriveInput, errors: &mut Accumulator) {
    for lifetime in input.generics.lifetimes() {
        errors.push(
            darling::Error::custom(format!(
                "a service cannot borrow: it is shared behind an `Arc` for the whole run (`'static`); own the data (`String`, `Arc<str>`, `Arc<T>`) instead of borrowing for `{}`",
                lifetime.lifetime
            ))
            .with_span(&lifetime.lifetime),
        );
    }
}

fn shape_error(input: &DeriveInput, what: &str) -> darling::Error {
    darling::Error::custom(format!(
        "`#[derive(Service)]` needs a struct with named fields (dependencies are fields marked `#[depends_on]`) or a unit struct, and `{}` is {what}",
        input.ident
    ))
    .with_span(&input.ident)
}

fn field(field: &syn::Field, errors: &mut Accumulator) -> Option<FieldModel> {
    let ident = field.ident.clone()?;
    let mut depends_on: Option<Span> = None;
    for attr in field.attrs.iter().filter(|a| is_attr(a, "depends_on")) {
        // A malformed `#[depends_on(…)]` still marks a dependency: that is what was meant.
        let span = errors
            .handle(marker(attr, "depends_on"))
            .unwrap_or_else(|| attr.path().span());
        if depends_on.is_some() {
            errors.push(darling::Error::custom("duplicate `#[depends_on]`").with_span(&span));
        }
        depends_on = Some(span);
    }
    let items = nested_items(&field.attrs, "service", errors);
    let attr = parse_lenient::<FieldAttr>(&items, errors);
    let kind = match (depends_on, attr.default) {
        (Some(_), Some(default)) => {
            errors.push(
                darling::Error::custom(
                    "a `#[depends_on]` field comes from the registry and cannot have a `default`",
                )
                .with_span(&default.0.span()),
            );
            FieldKind::Dependency
        }
        (Some(_), None) => FieldKind::Dependency,
        (None, Some(default)) => FieldKind::Default(default.0),
        (None, None) => FieldKind::DefaultTrait,
    };
    Some(FieldModel {
        ident,
        ty: field.ty.clone(),
        kind,
    })
}

/// `.restart(ServiceRestart::DEFAULT…)` for `restart = "on_failure"`, cross-checked like a
/// `#[background_task]`'s policy. Omitted keys keep `ServiceRestart::DEFAULT`'s values.
fn restart_options(
    krate: &TokenStream,
    attr: &ContainerAttr,
    restart_invalid: bool,
    errors: &mut Accumulator,
) -> Option<TokenStream> {
    let on_failure = restart_invalid || attr.restart.is_some_and(|r| r.on_failure);
    let within = attr
        .within
        .and_then(|w| errors.handle(w.non_zero("within")));
    let (backoff, max_backoff) =
        DurationLit::checked_backoffs(attr.backoff, attr.max_backoff, errors);
    if !on_failure {
        let keys = [
            ("max_restarts", attr.max_restarts.map(|c| c.span)),
            ("within", attr.within.map(|d| d.span)),
            ("backoff", attr.backoff.map(|d| d.span)),
            ("max_backoff", attr.max_backoff.map(|d| d.span)),
        ];
        for (key, span) in keys {
            let Some(span) = span else { continue };
            let message = if attr.restart.is_some() {
                format!(
                    "`{key}` has no effect with `restart = \"never\"`: remove it, or choose `restart = \"on_failure\"`"
                )
            } else {
                format!(
                    "`{key}` configures the service's restart policy: add `restart = \"on_failure\"`"
                )
            };
            errors.push(darling::Error::custom(message).with_span(&span));
        }
        return None;
    }
    let default = quote!(#krate::ServiceRestart::DEFAULT);
    let mut policy = default.clone();
    if attr.max_restarts.is_some() || within.is_some() {
        let max = attr.max_restarts.map_or_else(
            || quote!(#default.max_restarts),
            |m| proc_macro2::Literal::u32_unsuffixed(m.value).into_token_stream(),
        );
        let within = within.map_or_else(|| quote!(#default.within), |w| w.to_tokens());
        policy.extend(quote!(.max_restarts(#max, #within)));
    }
    if backoff.is_some() || max_backoff.is_some() {
        let base = backoff.map_or_else(|| quote!(#default.backoff), |b| b.to_tokens());
        let max = max_backoff.map_or_else(|| quote!(#default.max_backoff), |b| b.to_tokens());
        policy.extend(quote!(.backoff(#base, #max)));
    }
    Some(quote!(restart(#policy)))
}
