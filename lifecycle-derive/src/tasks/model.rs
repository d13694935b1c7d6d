//! The validated content of a tasks block: hooks, tasks with their specs, the stripped impl.

use std::time::Duration;

use darling::error::Accumulator;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens as _, quote};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{
    Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Meta, ReceiverKind, ReturnType,
    Safety, Signature, Type,
};

use super::attr::{RestartAttr, TaskAttr, TasksAttr};
use crate::common::{
    SERVICE_KEYS, TASK_KEYS, crate_path, is_attr, nested_items, parse_lenient, without_foreign_keys,
};
use crate::duration::{DurationLit, duration_tokens};

/// The attributes this macro consumes inside the block.
const ROLES: [&str; 5] = [
    "on_start",
    "on_stop",
    "on_reload",
    "health",
    "background_task",
];

/// A `#[lifecycle_core::tasks]` block.
pub(crate) struct TasksModel {
    pub(crate) krate: TokenStream,
    /// The block with our attributes removed, re-emitted as is otherwise.
    pub(crate) item: ItemImpl,
    /// `false` when the block cannot get a `TaskBlock` impl (a trait impl).
    pub(crate) inherent: bool,
    /// Every `#[on_start]` method (more than one only under `#[cfg]`s: alternatives).
    pub(crate) start: Vec<Hook>,
    pub(crate) stop: Vec<Hook>,
    pub(crate) reload: Vec<Hook>,
    pub(crate) health: Vec<Hook>,
    pub(crate) tasks: Vec<Task>,
    /// Pairs of hooks or tasks that conflict when both are configured in: `(condition,
    /// message, span)`, emitted as `#[cfg(condition)] compile_error!(message)`.
    pub(crate) conflicts: Vec<(TokenStream, String, Span)>,
}

/// An `#[on_start]`, `#[on_stop]`, `#[on_reload]` or `#[health]` method.
pub(crate) struct Hook {
    pub(crate) ident: Ident,
    pub(crate) is_async: bool,
    /// Where return-type errors point.
    pub(crate) output_span: Span,
    /// The signature is valid (otherwise an error is reported and no call generated).
    pub(crate) callable: bool,
    /// The predicates of the method's `#[cfg]`s (and of a `#[cfg_attr(p, on_start)]`): the
    /// adapter exists exactly when they all hold.
    pub(crate) cfgs: Vec<TokenStream>,
    /// Where a conflict with another hook of the same role is reported.
    pub(crate) attr_span: Span,
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
    /// The predicates of the method's `#[cfg]`s (and of a `#[cfg_attr(p, background_task)]`):
    /// the task is spawned exactly when they all hold.
    pub(crate) cfgs: Vec<TokenStream>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Start,
    Stop,
    Reload,
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
            start: Vec::new(),
            stop: Vec::new(),
            reload: Vec::new(),
            health: Vec::new(),
            tasks: Vec::new(),
            conflicts: Vec::new(),
        };
        let mut names: Vec<TaskName> = Vec::new();
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
        names: &mut Vec<TaskName>,
        errors: &mut Accumulator,
    ) {
        let (ours, rest, role_cfgs) = take_roles(std::mem::take(&mut method.attrs));
        method.attrs = rest;
        let Some(first) = ours.first() else {
            return;
        };
        let mut conditions = cfgs(&method.attrs);
        conditions.extend(role_cfgs.iter().cloned());
        if !role_cfgs.is_empty() {
            // Without the role, the method may be unused.
            method
                .attrs
                .push(syn::parse_quote!(#[cfg_attr(not(all(#(#role_cfgs),*)), allow(dead_code))]));
        }
        for extra in ours.iter().skip(1) {
            errors.push(
                darling::Error::custom(
                    "a method has at most one role: `#[on_start]`, `#[on_stop]`, `#[on_reload]`, `#[health]` or `#[background_task]`",
                )
                .with_span(extra.path()),
            );
        }
        let role = if is_attr(first, "on_start") {
            Role::Start
        } else if is_attr(first, "on_stop") {
            Role::Stop
        } else if is_attr(first, "on_reload") {
            Role::Reload
        } else if is_attr(first, "health") {
            Role::Health
        } else {
            Role::Task
        };
        let sig = &method.sig;
        let what = match role {
            Role::Start => "an `#[on_start]` hook",
            Role::Stop => "an `#[on_stop]` hook",
            Role::Reload => "an `#[on_reload]` hook",
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
        // `fn x(&self) -> impl Future<Output = …> + Send` is awaited like an `async fn`.
        let future = future_output(&sig.output);
        let output_span = match (&sig.output, future) {
            (_, Some(Some(output))) => output.span(),
            (ReturnType::Default, _) => sig.ident.span(),
            (ReturnType::Type(_, ty), _) => ty.span(),
        };
        let is_async = sig.asyncness.is_some() || future.is_some();
        let mut allows = vec![quote!(clippy::unused_self)];
        if sig.asyncness.is_some() {
            allows.push(quote!(clippy::unused_async));
        }
        if role == Role::Task {
            allows.push(quote!(clippy::needless_pass_by_value));
            let shape = TaskShape {
                output_span,
                is_async,
                returns_future: future.is_some(),
                cfgs: conditions,
            };
            if let Some(task) = task(
                &self.krate,
                first,
                method,
                shape,
                names,
                &mut self.conflicts,
                errors,
            ) && callable
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
                is_async,
                output_span,
                callable,
                cfgs: conditions,
                attr_span: first.path().span(),
            };
            let role_name = path_name(first);
            let slot = match role {
                Role::Start => &mut self.start,
                Role::Stop => &mut self.stop,
                Role::Reload => &mut self.reload,
                _ => &mut self.health,
            };
            let mut keep = true;
            for previous in slot.iter() {
                let message = format!(
                    "only one `#[{role_name}]` per service: `{}` is one already",
                    previous.ident.unraw()
                );
                if previous.cfgs.is_empty() && hook.cfgs.is_empty() {
                    // Both always compiled in: one error now, and only the first is used.
                    errors.push(darling::Error::custom(message).with_span(&hook.attr_span));
                    keep = false;
                } else {
                    // Alternatives under `#[cfg]`s: an error only if both are configured in.
                    let (a, b) = (&previous.cfgs, &hook.cfgs);
                    self.conflicts.push((
                        quote!(all(#(#a,)* #(#b),*)),
                        format!(
                            "{message} (both are configured in: make their `#[cfg]`s exclusive)"
                        ),
                        hook.attr_span,
                    ));
                }
            }
            if keep {
                slot.push(hook);
            }
        }
        method.attrs.push(syn::parse_quote!(#[allow(#(#allows),*)]));
    }
}

/// A task's name, where it is written, and the conditions under which it exists.
pub(crate) struct TaskName {
    name: String,
    span: Span,
    cfgs: Vec<TokenStream>,
}

/// What `method()` found out about a task's signature.
struct TaskShape {
    output_span: Span,
    is_async: bool,
    returns_future: bool,
    cfgs: Vec<TokenStream>,
}

/// Splits the attributes into our roles and the rest. A role inside
/// `#[cfg_attr(predicate, background_task(…))]` counts, under `predicate` (returned); the
/// `cfg_attr` keeps its other attributes.
fn take_roles(attrs: Vec<Attribute>) -> (Vec<Attribute>, Vec<Attribute>, Vec<TokenStream>) {
    let mut ours = Vec::new();
    let mut rest = Vec::new();
    let mut conditions = Vec::new();
    for attr in attrs {
        if ROLES.iter().any(|r| is_attr(&attr, r)) {
            ours.push(attr);
            continue;
        }
        if !attr.path().is_ident("cfg_attr") {
            rest.push(attr);
            continue;
        }
        let parsed = attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
            let predicate: Meta = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            let metas =
                syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated(input)?;
            Ok((predicate, metas))
        });
        let Ok((predicate, metas)) = parsed else {
            rest.push(attr);
            continue;
        };
        let (roles, others): (Vec<Meta>, Vec<Meta>) = metas
            .into_iter()
            .partition(|m| ROLES.iter().any(|r| is_meta(m, r)));
        if roles.is_empty() {
            rest.push(attr);
            continue;
        }
        conditions.push(predicate.to_token_stream());
        ours.extend(
            roles
                .into_iter()
                .map(|meta| -> Attribute { syn::parse_quote!(#[#meta]) }),
        );
        if !others.is_empty() {
            rest.push(syn::parse_quote!(#[cfg_attr(#predicate, #(#others),*)]));
        }
    }
    (ours, rest, conditions)
}

fn is_meta(meta: &Meta, name: &str) -> bool {
    meta.path()
        .segments
        .last()
        .is_some_and(|last| last.ident == name && last.arguments.is_none())
}

/// `Some(output)` when the method returns a future without being `async`: `impl Future<Output
/// = T> (+ Send)`, `Pin<Box<dyn Future<Output = T> + Send>>` or a `BoxFuture<'_, T>`;
/// `output` is `T` when it is written. `None` for any other return type.
fn future_output(output: &ReturnType) -> Option<Option<&Type>> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    future_type(ty)
}

fn future_type(ty: &Type) -> Option<Option<&Type>> {
    match ty {
        Type::Paren(p) => future_type(&p.elem),
        Type::Group(g) => future_type(&g.elem),
        Type::ImplTrait(t) => future_bound(t.bounds.iter()),
        Type::TraitObject(t) => future_bound(t.bounds.iter()),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let args = match &last.arguments {
                syn::PathArguments::AngleBracketed(args) => Some(args),
                _ => None,
            };
            let types = || {
                args.into_iter()
                    .flat_map(|a| a.args.iter())
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
            };
            match last.ident.to_string().as_str() {
                "Pin" | "Box" => types().next().and_then(future_type),
                "BoxFuture" | "LocalBoxFuture" => Some(types().next()),
                _ => None,
            }
        }
        _ => None,
    }
}

fn future_bound<'a>(
    bounds: impl Iterator<Item = &'a syn::TypeParamBound>,
) -> Option<Option<&'a Type>> {
    bounds
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => t.path.segments.last(),
            _ => None,
        })
        .find(|last| last.ident == "Future")
        .map(|last| match &last.arguments {
            syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
                syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                    Some(&assoc.ty)
                }
                _ => None,
            }),
            _ => None,
        })
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
        ReceiverKind::Reference(_, Some(lifetime), None) if lifetime.ident == "static" => Err(
            darling::Error::custom(format!(
                "{what} takes `&self`, not `&'static self`: the service lives in an `Arc` that the registry drops at the end of the run, so it is never borrowed for `'static`; to move work into a spawned task, clone what it needs"
            ))
            .with_span(&lifetime),
        ),
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
    if !sig.generics.params.is_empty() {
        errors.push(
            darling::Error::custom(format!(
                "{what} cannot have generic parameters: the macro calls it with no type arguments; use concrete types, or call a generic helper from the method"
            ))
            .with_span(&sig.generics.params),
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(
            darling::Error::custom(format!(
                "{what} cannot have its own `where` clause: put bounds on the impl block (`impl<T: …> Service<T>`)"
            ))
            .with_span(where_clause),
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
    shape: TaskShape,
    names: &mut Vec<TaskName>,
    conflicts: &mut Vec<(TokenStream, String, Span)>,
    errors: &mut Accumulator,
) -> Option<Task> {
    let sig = &method.sig;
    let items = nested_items(std::slice::from_ref(attr), path_name(attr), errors);
    let items = without_foreign_keys(
        items,
        ("`#[background_task(…)]`", TASK_KEYS),
        ("the struct's `#[service(…)]`", SERVICE_KEYS),
        errors,
    );
    let options = parse_lenient::<TaskAttr>(&items, errors);
    // A `restart = …` that did not parse was reported: `max_restarts` next to it is not
    // reported again as needing a `restart`.
    let restart_invalid = options.restart.is_none()
        && items.iter().any(|item| {
            matches!(item, darling::ast::NestedMeta::Meta(m) if m.path().is_ident("restart"))
        });
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
    if let Some(ty) = &shutdown_ty
        && let Some(error) = shutdown_shape_error(ty)
    {
        callable = false;
        errors.push(error);
    }

    match (shape.is_async, blocking) {
        (false, false) => {
            callable = false;
            errors.push(
            darling::Error::custom(
                "a background task must be an `async fn` (or return `impl Future`), or a plain `fn` marked `#[background_task(blocking)]` to run on the blocking pool",
            )
            .with_span(&sig.fn_token),
            );
        }
        (true, true) => {
            callable = false;
            let span = sig
                .asyncness
                .map_or(shape.output_span, |token| token.span());
            let fix = if shape.returns_future {
                "return the value itself instead of a future"
            } else {
                "remove `async`"
            };
            errors.push(
                darling::Error::custom(format!(
                    "`blocking` runs a plain `fn` on the blocking pool: {fix}, or remove `blocking`"
                ))
                .with_span(&span),
            );
        }
        _ => {}
    }

    let method_name = sig.ident.unraw().to_string();
    let name = match &options.name {
        Some(name) if name.value.trim().is_empty() => {
            errors
                .push(darling::Error::custom("a task name cannot be empty").with_span(&name.span));
            method_name
        }
        Some(name) => name.value.clone(),
        None => method_name,
    };
    let name_span = options
        .name
        .as_ref()
        .map_or_else(|| sig.ident.span(), |n| n.span);
    let message = format!("two tasks of this service are named `{name}`");
    let mut unique = true;
    for previous in names.iter().filter(|n| n.name == name) {
        if previous.cfgs.is_empty() && shape.cfgs.is_empty() {
            unique = false;
        } else {
            // Alternatives under `#[cfg]`s: an error only if both are configured in.
            let (a, b) = (&previous.cfgs, &shape.cfgs);
            conflicts.push((
                quote!(all(#(#a,)* #(#b),*)),
                format!("{message} (both are configured in: make their `#[cfg]`s exclusive, or give one a `name = \"…\"`)"),
                name_span,
            ));
        }
        let _ = previous.span;
    }
    if !unique {
        errors.push(darling::Error::custom(message).with_span(&name_span));
    }
    names.push(TaskName {
        name: name.clone(),
        span: name_span,
        cfgs: shape.cfgs.clone(),
    });

    let mut spec = spec(krate, &name, &options, restart_invalid, errors);
    if !takes_shutdown && !blocking {
        spec.extend(quote!(.cancel(#krate::Cancel::Drop)));
    }

    callable.then(|| Task {
        ident: sig.ident.clone(),
        blocking,
        spec,
        output_span: shape.output_span,
        shutdown_ty,
        cfgs: shape.cfgs,
    })
}

/// The `Shutdown` parameter by reference or as `impl Trait`: an error at the type that says
/// how to write it (the trait check would suggest borrowing, or rustc would give E0562).
fn shutdown_shape_error(ty: &Type) -> Option<darling::Error> {
    match ty {
        Type::Reference(r) => Some(
            darling::Error::custom(format!(
                "a background task receives the `Shutdown` handle by value: write `shutdown: {}` (it is a cheap clone of the service's token)",
                pretty(&r.elem)
            ))
            .with_span(&r.and_token),
        ),
        Type::ImplTrait(t) => Some(
            darling::Error::custom(
                "a background task receives the `Shutdown` handle: write `shutdown: Shutdown`, not `impl …`",
            )
            .with_span(&t.impl_token),
        ),
        Type::Paren(p) => shutdown_shape_error(&p.elem),
        _ => None,
    }
}

/// The predicates of the `#[cfg(…)]` attributes among `attrs`.
fn cfgs(attrs: &[Attribute]) -> Vec<TokenStream> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .filter_map(|a| match &a.meta {
            Meta::List(list) => Some(list.tokens.clone()),
            _ => None,
        })
        .collect()
}

/// The `TaskSpec` construction for the options, cross-checked.
fn spec(
    krate: &TokenStream,
    name: &str,
    options: &TaskAttr,
    restart_invalid: bool,
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
        (Some(max), None) if !restart_invalid => errors.push(
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
    let (backoff, max_backoff) =
        DurationLit::checked_backoffs(options.backoff, options.max_backoff, errors);
    if let Some(restart) = &options.restart
        && **restart == RestartAttr::Never
    {
        for (option, span) in [
            ("backoff", options.backoff.map(|b| b.span)),
            ("max_backoff", options.max_backoff.map(|b| b.span)),
        ] {
            if let Some(span) = span {
                errors.push(
                    darling::Error::custom(format!(
                        "`{option}` has no effect with `restart = \"never\"`: remove it, or choose `restart = \"on_failure\"` or `\"always\"`"
                    ))
                    .with_span(&span),
                );
            }
        }
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
    if let Some(on_exit) = &options.on_exit {
        if on_exit.stop {
            // A normal end is a long-running task returning `Ok` without being restarted.
            let useless = if options.every.is_some() {
                Some(
                    "a periodic task runs again at every tick and never ends by itself; remove `every`, or call `shutdown.request_stop()` from the task",
                )
            } else if options
                .restart
                .as_ref()
                .is_some_and(|r| **r == RestartAttr::Always)
            {
                Some(
                    "with `restart = \"always\"` the task is restarted whenever it returns; choose `restart = \"on_failure\"` or `\"never\"`",
                )
            } else {
                None
            };
            if let Some(why) = useless {
                errors.push(
                    darling::Error::custom(format!(
                        "`on_exit = \"stop\"` has no effect here: {why}"
                    ))
                    .with_span(&on_exit.span),
                );
            }
            spec.extend(quote!(.on_exit(#krate::OnExit::Stop)));
        } else {
            spec.extend(quote!(.on_exit(#krate::OnExit::Continue)));
        }
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
