//! Re-emits the impl block and generates `impl TaskBlock` from the hooks and tasks.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Ident, WherePredicate, parse_quote};

use super::model::{Hook, Task, TasksModel};
use crate::common::respan;

pub(crate) fn expand(model: &TasksModel) -> TokenStream {
    let item = &model.item;
    if !model.inherent {
        return quote!(#item);
    }
    let krate = &model.krate;
    let self_ty = &item.self_ty;
    let mut generics = item.generics.clone();
    if !generics.params.is_empty() {
        let bound: WherePredicate =
            parse_quote!(Self: ::core::marker::Send + ::core::marker::Sync + 'static);
        generics.make_where_clause().predicates.push(bound);
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();

    let result = quote!(::core::result::Result<(), #krate::BoxError>);
    let no_hook = quote!(::core::future::ready(::core::result::Result::Ok(())));
    let start_items = hook_items(
        model.start.as_ref(),
        &quote!(HAS_START_HOOK),
        &quote!(fn on_start(&self) -> impl ::core::future::Future<Output = #result> + ::core::marker::Send),
        &quote!(#krate::__private::HookOutcome::into_hook_result),
        &no_hook,
        krate,
    );
    let stop_items = hook_items(
        model.stop.as_ref(),
        &quote!(HAS_STOP_HOOK),
        &quote!(fn on_stop(&self) -> impl ::core::future::Future<Output = #result> + ::core::marker::Send),
        &quote!(#krate::__private::HookOutcome::into_hook_result),
        &no_hook,
        krate,
    );
    let health_items = hook_items(
        model.health.as_ref(),
        &quote!(HAS_HEALTH_CHECK),
        &quote!(fn health(&self) -> impl ::core::future::Future<Output = #krate::Health> + ::core::marker::Send),
        &quote!(#krate::__private::HealthReturn::into_health),
        &quote!(::core::future::ready(#krate::Health::Healthy)),
        krate,
    );

    let spawner = Ident::new("tasks", Span::mixed_site());
    let spawns = model.tasks.iter().map(|t| spawn(t, krate, &spawner));
    let check =
        quote_spanned!(self_ty.span()=> #krate::__private::assert_declares_tasks::<Self>(););

    quote! {
        #item

        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::__private::TaskBlock for #self_ty #where_clause {
                #start_items
                #stop_items
                #health_items
                fn spawn_tasks(self: &::std::sync::Arc<Self>, #spawner: &mut #krate::TaskSpawner<'_>) {
                    #check
                    #(#spawns)*
                }
            }
        };
    }
}

/// A hook's `HAS_…` constant and adapter method. A `#[cfg]`-gated hook gets both variants,
/// each under its condition.
fn hook_items(
    hook: Option<&Hook>,
    constant: &TokenStream,
    signature: &TokenStream,
    convert: &TokenStream,
    absent: &TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let Some(body) = hook_body(hook, krate, convert) else {
        return quote! {
            const #constant: bool = false;
            #signature { #absent }
        };
    };
    let predicates: Vec<TokenStream> = hook
        .map(|h| h.cfgs.iter().filter_map(cfg_predicate).collect())
        .unwrap_or_default();
    if predicates.is_empty() {
        return quote! {
            const #constant: bool = true;
            #signature { #body }
        };
    }
    let when = quote!(all(#(#predicates),*));
    quote! {
        #[cfg(#when)]
        const #constant: bool = true;
        #[cfg(not(#when))]
        const #constant: bool = false;
        #[cfg(#when)]
        #signature { #body }
        #[cfg(not(#when))]
        #signature { #absent }
    }
}

/// The predicate of a `#[cfg(predicate)]` attribute.
fn cfg_predicate(attr: &syn::Attribute) -> Option<TokenStream> {
    match &attr.meta {
        syn::Meta::List(list) => Some(list.tokens.clone()),
        _ => None,
    }
}

/// The body of a hook adapter: calls the method, converts its output.
fn hook_body(
    hook: Option<&Hook>,
    krate: &TokenStream,
    convert: &TokenStream,
) -> Option<TokenStream> {
    let hook = hook?;
    if !hook.callable {
        return None;
    }
    let method = &hook.ident;
    let call = if hook.is_async {
        quote_spanned!(method.span()=> #krate::__private::assert_send(Self::#method(self)).await)
    } else {
        quote_spanned!(method.span()=> Self::#method(self))
    };
    let output = Ident::new("output", Span::mixed_site());
    // The argument carries the return type's location: trait errors point there.
    let argument = Ident::new("output", Span::mixed_site().located_at(hook.output_span));
    let convert = respan(convert, hook.output_span);
    let convert = quote_spanned!(hook.output_span=> #convert(#argument));
    Some(quote!(async move {
        let #output = #call;
        #convert
    }))
}

/// One `TaskSpawner::spawn`/`spawn_blocking` call.
fn spawn(task: &Task, krate: &TokenStream, spawner: &Ident) -> TokenStream {
    let method = &task.ident;
    let span = method.span();
    let spec = &task.spec;
    let cfgs = &task.cfgs;
    let this = Ident::new("this", Span::mixed_site());
    let shutdown = Ident::new("shutdown", Span::mixed_site());
    // Converted through `ShutdownParam` at the parameter's type: a wrong type is reported
    // there, in words, and any alias of `Shutdown` works.
    let shutdown_arg = task.takes_shutdown.then(|| {
        let span = task.shutdown_span.unwrap_or(span);
        let krate = respan(krate, span);
        let shutdown = Ident::new("shutdown", Span::mixed_site().located_at(span));
        quote_spanned!(span=> , #krate::__private::ShutdownParam::from_shutdown(#shutdown))
    });
    let shutdown_param = if task.takes_shutdown {
        quote!(#shutdown)
    } else {
        quote!(_)
    };
    let output = Ident::new("output", Span::mixed_site());
    // The argument carries the return type's location: trait errors point there.
    let argument = Ident::new("output", Span::mixed_site().located_at(task.output_span));
    let convert = {
        let krate = respan(krate, task.output_span);
        quote_spanned!(task.output_span=> #krate::__private::TaskReturn::into_task_result(#argument))
    };
    if task.blocking {
        quote_spanned! {span=>
            #(#cfgs)*
            {
                let #this = ::core::clone::Clone::clone(self);
                #spawner.spawn_blocking(#spec, move |#shutdown_param: #krate::Shutdown| {
                    let #output = Self::#method(&#this #shutdown_arg);
                    #convert
                });
            }
        }
    } else {
        quote_spanned! {span=>
            #(#cfgs)*
            {
                let #this = ::core::clone::Clone::clone(self);
                #spawner.spawn(#spec, move |#shutdown_param: #krate::Shutdown| {
                    let #this = ::core::clone::Clone::clone(&#this);
                    async move {
                        let #output = #krate::__private::assert_send(Self::#method(&#this #shutdown_arg)).await;
                        #convert
                    }
                });
            }
        }
    }
}
