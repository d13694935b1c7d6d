//! The validated content of a tasks block: hooks, tasks with their specs, the stripped impl.

use std::time::Duration;

use darling::error::Accumulator;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens as _, quote};
use syn::spanned::Spanned as _;
use syn::{
    Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Meta, ReceiverKind, ReturnType,
    Safety, Signature, Type,
};

use super::attr::{RestartAttr, TaskAttr, TasksAttr};
use crate::common::{crate_path, is_attr, nested_items, parse_lenient};
use crate::duration::duration_tokens;

/// The attributes this macro consumes inside the block.
const ROLES: [&str; 4] = ["on_start", "on_stop", "health", "background_task"];

/// A `#[lifecycle_core::tasks]` block.
pub(crate) struct TasksModel {
    pub(crate) krate: TokenStream,
    /// The block with our attributes removed, re-emitted as is otherwise.
    pub(crate) item: ItemImpl,
    /// `false` when the block cannot get a `TaskBlock` impl (a trait impl).
    pub(crate) inherent: bool,
    pub(crate) start: Option<Hook>,
    pub(crate) stop: Option<Hook>,
    pub(crate) health: Option<Hook>,
    pub(crate) tasks: Vec<Task>,
}

/// An `#[on_start]`, `#[on_stop]` or `#[health]` method.
pub(crate) struct Hook {
    pub(crate) ident: Ident,
    pub(crate) is_async: bool,
    /// Where return-type errors point.
    pub(crate) output_span: Span,
    /// The signature is valid (otherwise an error is reported and no call generated).
    pub(crate) callable: bool,
    /// The method's `#[cfg]` attributes: the adapter exists exactly when the method does.
    pub(crate) cfgs: Vec<Attribute>,
}

/// A `#[background_task]` method.
pub(crate) struct Task {
    pub(crate) ident: Ident,
    pub(crate) blocking: bool,
    /// `TaskSpec` construction.
    pub(crate) spec: TokenStream,
    pub(crate) output_span: Span,
    /// Arity 2 (`&self, Shutdown`): the `Shutdown` parameter's type, as written (any alias of
    /// `Shutdown`). `None` for arity 1, whose future is dropped at stop.
    pub(crate) shutdown_ty: Option<Type>,
    /// The method's `#[cfg]` attributes: the task is spawned exactly when the method exists.
    pub(crate) cfgs: Vec<Attribute>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Start,
    Stop,
    Health,
    Task,
}

impl TasksModel {
    pub(crate) fn build(args: TokenStream, mut item: ItemImpl, errors: &mut Accumulator) -> Self {
        let args = errors
            .handle(darling::ast::NestedMeta::parse_meta_list(args).map_err(darling::Error::from))
            .unwrap_or_default();
        let attr = parse_lenient::<TasksAttr>(&args, errors);
        let krate = crate_path(attr.krate.as_ref().map(|k| &k.0));

        let inherent = item.trait_.is_none();
        if let Some((path, _)) = &item.trait_ {
            errors.push(
                darling::Error::custom(
                    "`#[lifecycle_core::tasks]` goes on an inherent impl block (`impl MyService { … }`), not on a trait impl",
                )
                .with_span(path),
            );
        }

        let mut model = Self {
            krate,
            item: item.clone(),
            inherent,
            start: None,
            stop: None,
            health: None,
            tasks: Vec::new(),
        };
        let mut names: Vec<(String, Span)> = Vec::new();
        for impl_item in &mut item.items {
            let attrs = match impl_item {
                ImplItem::Fn(method) => {
                    model.method(method, &mut names, errors);
                    continue;
                }
                ImplItem::Const(c) => &mut c.attrs,
                ImplItem::Type(t) => &mut t.attrs,
                ImplItem::Macro(m) => &mut m.attrs,
                _ => continue,
            };
            // Our attributes only mean something on methods: report and remove them.
            attrs.retain(|attr| {
                let Some(role) = ROLES.iter().find(|r| is_attr(attr, r)) else {
                    return true;
                };
                errors.push(
                    darling::Error::custom(format!(
                        "`#[{role}]` goes on a method: `async fn …(&self)`"
                    ))
                    .with_span(attr.path()),
                );
                false
            });
        }
        model.item = item;
        model
    }

    fn method(
        &mut self,
        method: &mut ImplItemFn,
        names: &mut Vec<(String, Span)>,
        errors: &mut Accumulator,
    ) {
        let (ours, rest): (Vec<Attribute>, Vec<Attribute>) = std::mem::take(&mut method.attrs)
            .into_iter()
            .partition(|a| ROLES.iter().any(|r| is_attr(a, r)));
        method.attrs = rest;
        let Some(first) = ours.first() else {
            return;
        };
        for extra in ours.iter().skip(1) {
            errors.push(
                darling::Error::custom(
                    "a method has at most one role: `#[on_start]`, `#[on_stop]`, `#[health]` or `#[background_task]`",
                )
                .with_span(extra.path()),
            );
        }
        let role = if is_attr(first, "on_start") {
            Role::Start
        } else if is_attr(first, "on_stop") {
            Role::Stop
        } else if is_attr(first, "health") {
            Role::Health
        } else {
            Role::Task
        };
        let sig = &method.sig;
        let what = match role {
            Role::Start => "an `#[on_start]` hook",
            Role::Stop => "an `#[on_stop]` hook",
            Role::Health => "a `#[health]` check",
            Role::Task => "a `#[background_task]`",
        };
        // Signature errors make a call impossible: such methods get no adapter (no cascade).
        let mut signature = darling::Error::accumulator();
        signature.handle(check_receiver(sig, what));
        signature.handle(check_plain(sig, what));
        if role != Role::Task
            && let Some(extra) = sig.inputs.iter().nth(1)
        {
            signature.push(
                darling::Error::custom(format!("{what} takes only `&self`")).with_span(extra),
            );
        }
        let signature = signature.into_inner();
        let callable = signature.is_empty();
        for e in signature {
            errors.push(e);
        }
        let output_span = match &sig.output {
            ReturnType::Default => sig.ident.span(),
            ReturnType::Type(_, ty) => ty.span(),
        };
        let mut allows = vec![quote!(clippy::unused_self)];
        if sig.asyncness.is_some() {
            allows.push(quote!(clippy::unused_async));
        }
        if role == Role::Task {
            allows.push(quote!(clippy::needless_pass_by_value));
            if let Some(task) = task(&self.krate, first, method, output_span, names, errors)
                && callable
            {
                self.tasks.push(task);
            }
        } else {
            if !matches!(&first.meta, Meta::Path(_)) {
                errors.push(
                    darling::Error::custom(format!("{what} takes no options"))
                        .with_span(&first.meta),
                );
            }
            let hook = Hook {
                ident: sig.ident.clone(),
                is_async: sig.asyncness.is_some(),
                output_span,
                callable,
                cfgs: cfgs(&method.attrs),
            };
            let slot = match role {
                Role::Start => &mut self.start,
                Role::Stop => &mut self.stop,
                _ => &mut self.health,
            };
            if let Some(previous) = slot {
                errors.push(
                    darling::Error::custom(format!(
                        "only one `#[{}]` per service: `{}` is one already",
                        path_name(first),
                        previous.ident
                    ))
                    .with_span(first.path()),
                );
            } else {
                *slot = Some(hook);
            }
        }
        method.attrs.push(syn::parse_quote!(#[allow(#(#allows),*)]));
    }
}

/// `&self` only: the service is shared behind an `Arc`.
fn check_receiver(sig: &Signature, what: &str) -> darling::Result<()> {
    const HINT: &str = "the service is shared behind an `Arc`: take `&self` and keep mutable state behind a `Mutex` or atomics";
    let error = |message: String, span: Span| {
        Err(darling::Error::custom(format!("{message}; {HINT}")).with_span(&span))
    };
    let Some(FnArg::Receiver(receiver)) = sig.inputs.first() else {
        return error(
            format!("{what} must be a method taking `&self`"),
            sig.ident.span(),
        );
    };
    if let Some(mutability) = &receiver.mutability {
        return error(format!("{what} cannot take `mut self`"), mutability.span());
    }
    match &receiver.kind {
        ReceiverKind::Reference(_, _, None) => Ok(()),
        ReceiverKind::Reference(_, _, Some(mutability)) => {
            error(format!("{what} cannot take `&mut self`"), mutability.span())
        }
        ReceiverKind::Value => error(
            format!("{what} cannot take `self` by value"),
            receiver.self_token.span(),
        ),
        ReceiverKind::Typed(_, ty) if is_ref_self(ty) => Ok(()),
        ReceiverKind::Typed(_, ty) if matches!(&**ty, Type::Reference(r) if r.mutability.is_some()) => {
            error(format!("{what} cannot take `self: &mut Self`"), ty.span())
        }
        ReceiverKind::Typed(_, ty) => error(
            format!("{what} must take `&self`, not `self: {}`", pretty(ty)),
            ty.span(),
        ),
        _ => error(format!("{what} must take `&self`"), receiver.span()),
    }
}

/// A type as a user would write it (`Arc<Self>`, not `Arc < Self >`).
fn pretty(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        (" ,", ","),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// `&Self`, written out.
fn is_ref_self(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => {
            r.mutability.is_none()
                && matches!(&*r.elem, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
        }
        Type::Paren(p) => is_ref_self(&p.elem),
        _ => false,
    }
}

/// No generics, `unsafe`, `extern` or `const`.
fn check_plain(sig: &Signature, what: &str) -> darling::Result<()> {
    let mut errors = darling::Error::accumulator();
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            darling::Error::custom(format!("{what} cannot have generic parameters"))
                .with_span(&sig.generics),
        );
    }
    if let Safety::Unsafe(token) = &sig.safety {
        errors.push(darling::Error::custom(format!("{what} cannot be `unsafe`")).with_span(token));
    }
    if let Some(abi) = &sig.abi {
        errors.push(darling::Error::custom(format!("{what} cannot be `extern`")).with_span(abi));
    }
    if let Some(token) = &sig.constness {
        errors.push(darling::Error::custom(format!("{what} cannot be `const`")).with_span(token));
    }
    if let Some(variadic) = &sig.variadic {
        errors
            .push(darling::Error::custom(format!("{what} cannot be variadic")).with_span(variadic));
    }
    errors.finish()
}

/// The defaults of `TaskSpec` that the options are checked against.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);
const DEFAULT_WITHIN: Duration = Duration::from_secs(60);

fn task(
    krate: &TokenStream,
    attr: &Attribute,
    method: &ImplItemFn,
    output_span: Span,
    names: &mut Vec<(String, Span)>,
    errors: &mut Accumulator,
) -> Option<Task> {
    let sig = &method.sig;
    let items = nested_items(std::slice::from_ref(attr), path_name(attr), errors);
    let options = parse_lenient::<TaskAttr>(&items, errors);
    let blocking = options.blocking.is_present();
    if let Some(error) = options.blocking.error.clone() {
        errors.push(error);
    }

    // Kind: by arity, never by the parameter's name or type.
    let params: Vec<&FnArg> = sig.inputs.iter().skip(1).collect();
    let mut callable = true;
    if let Some(extra) = params.get(1) {
        callable = false;
        errors.push(
            darling::Error::custom(
                "a background task takes `&self` and at most one more parameter, the `Shutdown` handle",
            )
            .with_span(extra),
        );
    }
    let takes_shutdown = !params.is_empty();
    let shutdown_ty = params.first().and_then(|p| match p {
        FnArg::Typed(t) => Some((*t.ty).clone()),
        FnArg::Receiver(_) => None,
    });

    match (sig.asyncness, blocking) {
        (None, false) => {
            callable = false;
            errors.push(
            darling::Error::custom(
                "a background task must be an `async fn`, or a plain `fn` marked `#[background_task(blocking)]` to run on the blocking pool",
            )
            .with_span(&sig.fn_token),
            );
        }
        (Some(token), true) => {
            callable = false;
            errors.push(
                darling::Error::custom(
                    "`blocking` runs a plain `fn` on the blocking pool: remove `async`, or remove `blocking`",
                )
                .with_span(&token),
            );
        }
        _ => {}
    }

    let name = match &options.name {
        Some(name) if name.value.trim().is_empty() => {
            errors
                .push(darling::Error::custom("a task name cannot be empty").with_span(&name.span));
            sig.ident.to_string()
        }
        Some(name) => name.value.clone(),
        None => sig.ident.to_string(),
    };
    let name_span = options
        .name
        .as_ref()
        .map_or_else(|| sig.ident.span(), |n| n.span);
    if let Some((_, _)) = names.iter().find(|(n, _)| *n == name) {
        errors.push(
            darling::Error::custom(format!("two tasks of this service are named `{name}`"))
                .with_span(&name_span),
        );
    }
    names.push((name.clone(), name_span));

    let mut spec = spec(krate, &name, &options, errors);
    if !takes_shutdown && !blocking {
        spec.extend(quote!(.cancel(#krate::Cancel::Drop)));
    }

    callable.then(|| Task {
        ident: sig.ident.clone(),
        blocking,
        spec,
        output_span,
        shutdown_ty,
        cfgs: cfgs(&method.attrs),
    })
}

/// The `#[cfg(…)]` attributes among `attrs`.
fn cfgs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .cloned()
        .collect()
}

/// The `TaskSpec` construction for the options, cross-checked.
fn spec(
    krate: &TokenStream,
    name: &str,
    options: &TaskAttr,
    errors: &mut Accumulator,
) -> TokenStream {
    let mut spec = match options.every.map(|d| d.non_zero("every")) {
        Some(Ok(every)) => {
            let every = every.to_tokens();
            quote!(#krate::TaskSpec::periodic(#name, #every))
        }
        Some(Err(e)) => {
            errors.push(e);
            quote!(#krate::TaskSpec::new(#name))
        }
        None => quote!(#krate::TaskSpec::new(#name)),
    };
    if let Some(delay) = options.initial_delay {
        if options.every.is_none() {
            errors.push(
                darling::Error::custom(
                    "`initial_delay` delays the first run of a periodic task: add `every = \"…\"`",
                )
                .with_span(&delay.span),
            );
        }
        let delay = delay.to_tokens();
        spec.extend(quote!(.initial_delay(#delay)));
    }
    if let Some(restart) = &options.restart {
        let variant = match **restart {
            RestartAttr::Never => quote!(Never),
            RestartAttr::OnFailure => quote!(OnFailure),
            RestartAttr::Always => quote!(Always),
        };
        spec.extend(quote!(.restart(#krate::Restart::#variant)));
    }
    match (&options.max_restarts, &options.restart) {
        (Some(max), None) => errors.push(
            darling::Error::custom(
                "`max_restarts` limits restarts: add `restart = \"on_failure\"` or `restart = \"always\"`",
            )
            .with_span(&max.span),
        ),
        (Some(max), Some(restart)) if **restart == RestartAttr::Never => errors.push(
            darling::Error::custom("`max_restarts` has no effect with `restart = \"never\"`").with_span(&max.span),
        ),
        _ => {}
    }
    let within = options
        .within
        .and_then(|w| errors.handle(w.non_zero("within")));
    if let (Some(within), None) = (&options.within, &options.max_restarts) {
        errors.push(
            darling::Error::custom(
                "`within` is the window of `max_restarts`: add `max_restarts = N`",
            )
            .with_span(&within.span),
        );
    }
    if let Some(max) = &options.max_restarts {
        let max = proc_macro2::Literal::u32_unsuffixed(max.value);
        let within = duration_tokens(within.map_or(DEFAULT_WITHIN, |w| w.value));
        spec.extend(quote!(.max_restarts(#max, #within)));
    }
    let backoff = options
        .backoff
        .and_then(|b| errors.handle(b.non_zero("backoff")));
    let max_backoff = options
        .max_backoff
        .and_then(|b| errors.handle(b.non_zero("max_backoff")));
    if let (Some(base), Some(max)) = (backoff, max_backoff)
        && max.value < base.value
    {
        errors.push(
            darling::Error::custom(format!(
                "`max_backoff` ({:?}) is smaller than `backoff` ({:?}): the cap must be at least the base delay",
                max.value, base.value
            ))
            .with_span(&max.span),
        );
    }
    if backoff.is_some() || max_backoff.is_some() {
        let (base, max) = backoff_pair(backoff.map(|b| b.value), max_backoff.map(|b| b.value));
        let (base, max) = (duration_tokens(base), duration_tokens(max));
        spec.extend(quote!(.backoff(#base, #max)));
    }
    if let Some(jitter) = &options.jitter {
        let value = proc_macro2::Literal::f64_unsuffixed(jitter.value);
        spec.extend(quote!(.jitter(#value)));
    }
    spec
}

/// Base and cap, defaults filled in consistently.
fn backoff_pair(base: Option<Duration>, max: Option<Duration>) -> (Duration, Duration) {
    match (base, max) {
        (Some(base), Some(max)) => (base, max.max(base)),
        (Some(base), None) => (base, DEFAULT_MAX_BACKOFF.max(base)),
        (None, Some(max)) => (DEFAULT_BACKOFF.min(max), max),
        (None, None) => (DEFAULT_BACKOFF, DEFAULT_MAX_BACKOFF),
    }
}

/// The attribute's last path segment (`background_task`).
fn path_name(attr: &Attribute) -> &'static str {
    ROLES
        .iter()
        .copied()
        .find(|r| is_attr(attr, r))
        .unwrap_or("background_task")
}
