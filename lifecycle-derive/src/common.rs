//! Small helpers shared by the macros: the runtime crate's path, attribute matching, errors.

use darling::ast::NestedMeta;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Attribute, Meta};

/// The path to `lifecycle_core`: `::lifecycle_core`, or the `crate = path` override.
pub(crate) fn crate_path(krate: Option<&syn::Path>) -> TokenStream {
    krate.map_or_else(|| quote!(::lifecycle_core), ToTokens::to_token_stream)
}

/// Whether `attr` is `#[name]`/`#[name(…)]`, or a path to it: `#[lifecycle_core::name]`, or
/// through a renamed or re-exported crate (`use lifecycle_core as lc;` then `#[lc::name]`).
pub(crate) fn is_attr(attr: &Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|last| last.ident == name && last.arguments.is_none())
}

/// The nested items of every `#[name(…)]` attribute in `attrs`, concatenated (so options can
/// be split across several attributes). A bare `#[name]` contributes nothing.
pub(crate) fn nested_items(
    attrs: &[Attribute],
    name: &str,
    errors: &mut darling::error::Accumulator,
) -> Vec<NestedMeta> {
    let mut items = Vec::new();
    for attr in attrs.iter().filter(|a| is_attr(a, name)) {
        match &attr.meta {
            Meta::Path(_) => {}
            Meta::List(list) => {
                if let Some(parsed) = errors.handle(
                    NestedMeta::parse_meta_list(list.tokens.clone()).map_err(darling::Error::from),
                ) {
                    items.extend(without_empty_values(parsed, errors));
                }
            }
            Meta::NameValue(nv) => errors.push(
                darling::Error::custom(format!("expected `#[{name}(…)]`, not `#[{name} = …]`"))
                    .with_span(nv),
            ),
        }
    }
    items
}

/// Reports `option = ` with nothing after `=` at the option (syn's "expected an expression"
/// would point at the whole attribute) and drops it, so the other options still apply.
pub(crate) fn without_empty_values(
    items: Vec<NestedMeta>,
    errors: &mut darling::error::Accumulator,
) -> Vec<NestedMeta> {
    items
        .into_iter()
        .filter(|item| match item {
            NestedMeta::NameValueInvalidExpr(invalid) if invalid.value.is_empty() => {
                let name = darling::util::path_to_string(&invalid.path);
                errors.push(
                    darling::Error::custom(format!(
                        "`{name}` needs a value after `=` (or remove `{name} =`)"
                    ))
                    .with_span(&invalid.path),
                );
                false
            }
            _ => true,
        })
        .collect()
}

/// A `#[name]` marker attribute: accepts only the bare word.
pub(crate) fn marker(attr: &Attribute, name: &str) -> darling::Result<Span> {
    match &attr.meta {
        Meta::Path(path) => Ok(path_span(path)),
        other => {
            Err(darling::Error::custom(format!("`#[{name}]` takes no arguments")).with_span(other))
        }
    }
}

fn path_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// A local variable, parameter or closure argument of an expansion. A `let` binding (or a
/// parameter) whose name is a constant or unit struct in scope is a pattern, not a binding
/// (E0530), and mixed-site hygiene does not hide items: so every generated binding has the
/// reserved prefix `__lifecycle_` (and mixed-site hygiene).
pub(crate) fn local(name: &str) -> proc_macro2::Ident {
    proc_macro2::Ident::new(&format!("__lifecycle_{name}"), Span::mixed_site())
}

/// Like [`local`], at the user's tokens and in their syntax context, so an error about the
/// binding is reported there (a mixed-site binding would move it to the macro's attribute).
pub(crate) fn local_at(name: &str, span: Span) -> proc_macro2::Ident {
    proc_macro2::Ident::new(&format!("__lifecycle_{name}"), span)
}

/// Turns accumulated errors into `compile_error!` tokens (empty when there are none).
pub(crate) fn errors_to_tokens(errors: Vec<darling::Error>) -> TokenStream {
    if errors.is_empty() {
        TokenStream::new()
    } else {
        darling::Error::multiple(errors).write_errors()
    }
}

/// Parses options, recording errors; on error, parses again without the items that fail on
/// their own, so one bad option does not discard the others (best-effort expansion).
pub(crate) fn parse_lenient<T: darling::FromMeta + Default>(
    items: &[NestedMeta],
    errors: &mut darling::error::Accumulator,
) -> T {
    match T::from_list(items) {
        Ok(parsed) => parsed,
        Err(e) => {
            errors.push(e);
            let good: Vec<NestedMeta> = items
                .iter()
                .filter(|item| T::from_list(std::slice::from_ref(*item)).is_ok())
                .cloned()
                .collect();
            T::from_list(&good).unwrap_or_default()
        }
    }
}

/// `tokens` with every span set to `span`, so errors about them point at the user's code.
/// Used for the runtime path in bounds, which must resolve the same from any span in the
/// caller's crate.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The options of `#[service(…)]` on a struct.
pub(crate) const SERVICE_KEYS: &[&str] = &[
    "name",
    "start_timeout",
    "stop_timeout",
    "hook_timeout",
    "escalation",
    "restart",
    "max_restarts",
    "within",
    "backoff",
    "max_backoff",
    "ready_in_backoff",
    "tasks",
    "crate",
];

/// The options of `#[background_task(…)]`.
pub(crate) const TASK_KEYS: &[&str] = &[
    "every",
    "initial_delay",
    "name",
    "restart",
    "max_restarts",
    "within",
    "backoff",
    "max_backoff",
    "jitter",
    "blocking",
    "on_exit",
];

/// Reports (and drops) the options that belong to the other attribute: `escalation` on a
/// `#[background_task]`, `on_exit` on a `#[service]`. darling would say only "Unknown field".
/// `own` and `other` are `(attribute as written, its keys)`.
pub(crate) fn without_foreign_keys(
    items: Vec<NestedMeta>,
    own: (&str, &[&str]),
    other: (&str, &[&str]),
    errors: &mut darling::error::Accumulator,
) -> Vec<NestedMeta> {
    items
        .into_iter()
        .filter(|item| {
            let NestedMeta::Meta(meta) = item else {
                return true;
            };
            let key = darling::util::path_to_string(meta.path());
            if own.1.contains(&key.as_str()) || !other.1.contains(&key.as_str()) {
                return true;
            }
            errors.push(
                darling::Error::custom(format!(
                    "`{key}` is an option of {}, not of {}",
                    other.0, own.0
                ))
                .with_span(meta.path()),
            );
            false
        })
        .collect()
}
