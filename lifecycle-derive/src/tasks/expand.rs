//! Re-emits the impl block and generates `impl TaskBlock` from the hooks and tasks.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Ident, WherePredicate, parse_quote};

use super::model::{Hook, Task, TasksModel};
use crate::common::{local, local_at, respan};

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
        &model.start,
        &quote!(HAS_START_HOOK),
        &quote!(fn on_start(&self) -> impl ::core::future::Future<Output = #result> + ::core::marker::Send),
        &quote!(#krate::TaskOutcome::into_task_result),
        &no_hook,
        krate,
    );
    let stop_items = hook_items(
        &model.stop,
        &quote!(HAS_STOP_HOOK),
        &quote!(fn on_stop(&self) -> impl ::core::future::Future<Output = #result> + ::core::marker::Send),
        &quote!(#krate::TaskOutcome::into_task_result),
        &no_hook,
        krate,
    );
    let reload_items = hook_items(
        &model.reload,
        &quote!(HAS_RELOAD_HOOK),
        &quote!(fn on_reload(&self) -> impl ::core::future::Future<Output = #result> + ::core::marker::Send),
        &quote!(#krate::TaskOutcome::into_task_result),
        &no_hook,
        krate,
    );
    let health_items = hook_items(
        &model.health,
        &quote!(HAS_HEALTH_CHECK),
        &quote!(fn health(&self) -> impl ::core::future::Future<Output = #krate::Health> + ::core::marker::Send),
        &quote!(#krate::IntoHealth::into_health),
        &quote!(::core::future::ready(#krate::Health::Healthy)),
        krate,
    );
    // Hooks or tasks that may not both be configured in: an error at the second one if they are.
    let conflicts = model.conflicts.iter().map(|(condition, message, span)| {
        quote_spanned!(*span=> #[cfg(#condition)] ::core::compile_error!(#message);)
    });

    let spawner = local("tasks");
    let spawns = model.tasks.iter().map(|t| spawn(t, krate, &spawner));
    let check =
        quote_spanned!(self_ty.span()=> #krate::__private::assert_declares_tasks::<Self>(););

    quote! {
        #item

        const _: () = {
            #(#conflicts)*

            #[automatically_derived]
            impl #impl_generics #krate::__private::TaskBlock for #self_ty #where_clause {
                #start_items
                #stop_items
                #reload_items
                #health_items
                fn spawn_tasks(self: &::std::sync::Arc<Self>, #spawner: &mut #krate::TaskSpawner<'_>) {
                    #check
                    #(#spawns)*
                }
            }
        };
    }
}

/// A hook's `HAS_…` constant and adapter method. Hooks under `#[cfg]`s get one variant each,
/// under its conditions (the first configured-in one wins; two are a `compile_error!`), and
/// the "no hook" variant when none is configured in.
fn hook_items(
    hooks: &[Hook],
    constant: &TokenStream,
    signature: &TokenStream,
    convert: &TokenStream,
    absent: &TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let hooks: Vec<(&Hook, TokenStream)> = hooks
        .iter()
        .filter_map(|h| hook_body(h, krate, convert).map(|body| (h, body)))
        .collect();
    if let [(hook, body)] = hooks.as_slice()
        && hook.cfgs.is_empty()
    {
        return quote! {
            const #constant: bool = true;
            #signature { #body }
        };
    }
    if hooks.is_empty() {
        // `TaskBlock`'s defaults: no hook, nothing generated.
        let _ = absent;
        return TokenStream::new();
    }
    let conditions: Vec<TokenStream> = hooks
        .iter()
        .map(|(h, _)| {
            let cfgs = &h.cfgs;
            quote!(all(#(#cfgs),*))
        })
        .collect();
    let variants = hooks.iter().enumerate().map(|(i, (_, body))| {
        let this = &conditions[i];
        let earlier = &conditions[..i];
        let when = quote!(all(#this, not(any(#(#earlier),*))));
        quote! {
            #[cfg(#when)]
            const #constant: bool = true;
            #[cfg(#when)]
            #signature { #body }
        }
    });
    quote! {
        #(#variants)*
        #[cfg(not(any(#(#conditions),*)))]
        const #constant: bool = false;
        #[cfg(not(any(#(#conditions),*)))]
        #signature { #absent }
    }
}

/// The body of a hook adapter: calls the method, converts its output.
fn hook_body(hook: &Hook, krate: &TokenStream, convert: &TokenStream) -> Option<TokenStream> {
    if !hook.callable {
        return None;
    }
    let method = &hook.ident;
    let call = if hook.is_async {
        quote_spanned!(method.span()=> #krate::__private::assert_send(Self::#method(self)).await)
    } else {
        quote_spanned!(method.span()=> Self::#method(self))
    };
    // Every token of the conversion is at the return type, in the user's syntax context: a
    // wrong return type is reported there (mixed contexts would move it to the attribute).
    // Prefixed: no constant of the user's named like it can turn the binding into a pattern.
    let output = local_at("output", hook.output_span);
    let convert = respan(convert, hook.output_span);
    let convert = quote_spanned!(hook.output_span=> #convert(#output));
    // Annotated (`: _`) so `unit_bindings` stays quiet for hooks returning `()`.
    Some(quote!(async move {
        let #output: _ = #call;
        #convert
    }))
}

/// One `TaskSpawner::spawn`/`spawn_blocking` call.
fn spawn(task: &Task, krate: &TokenStream, spawner: &Ident) -> TokenStream {
    let method = &task.ident;
    let span = method.span();
    let spec = &task.spec;
    let cfgs = &task.cfgs;
    let cfgs = (!cfgs.is_empty()).then(|| quote!(#[cfg(all(#(#cfgs),*))]));
    let this = local("this");
    let shutdown_arg = task.shutdown_ty.as_ref().map(|ty| {
        // Converted through `ShutdownParam`, named by the parameter's type: a wrong type is
        // reported at it, in words, and any alias of `Shutdown` works.
        let span = ty.span();
        let krate = respan(krate, span);
        let ty = respan(&quote!(#ty), span);
        let shutdown = local_at("shutdown", span);
        quote_spanned!(span=> , <#ty as #krate::__private::ShutdownParam>::from_shutdown(#shutdown))
    });
    let shutdown_param = match &task.shutdown_ty {
        Some(ty) => {
            let shutdown = local_at("shutdown", ty.span());
            quote!(#shutdown)
        }
        None => quote!(_),
    };
    // Every token of the conversion is at the return type, in the user's syntax context: a
    // wrong return type is reported there (mixed contexts would move it to the attribute).
    let output = local_at("output", task.output_span);
    let convert = {
        let krate = respan(krate, task.output_span);
        quote_spanned!(task.output_span=> #krate::TaskOutcome::into_task_result(#output))
    };
    let call = if task.blocking {
        quote_spanned!(span=> Self::#method(&#this #shutdown_arg))
    } else {
        quote_spanned!(span=> #krate::__private::assert_send(Self::#method(&#this #shutdown_arg)).await)
    };
    let run = quote_spanned! {span=>
        // A task may return `()`: annotated so neither `unit_bindings` nor clippy complains.
        #[allow(clippy::let_unit_value)]
        let #output: _ = #call;
        #convert
    };
    if task.blocking {
        quote_spanned! {span=>
            #cfgs
            {
                let #this = ::core::clone::Clone::clone(self);
                #spawner.spawn_blocking(#spec, move |#shutdown_param: #krate::Shutdown| { #run });
            }
        }
    } else {
        quote_spanned! {span=>
            #cfgs
            {
                let #this = ::core::clone::Clone::clone(self);
                #spawner.spawn(#spec, move |#shutdown_param: #krate::Shutdown| {
                    let #this = ::core::clone::Clone::clone(&#this);
                    async move { #run }
                });
            }
        }
    }
}
