//! `#[lifecycle_core::tasks]` on an impl block: parse (`attr`) → validate (`model`) →
//! generate (`expand`).

pub(crate) mod attr;
mod expand;
mod model;

use proc_macro2::TokenStream;

/// Entry point of the attribute.
pub(crate) fn tasks(args: TokenStream, item: &TokenStream) -> TokenStream {
    let Ok(item_impl) = syn::parse2::<syn::ItemImpl>(item.clone()) else {
        // One error, at the item (syn's "expected `impl`" adds nothing).
        let span = item
            .clone()
            .into_iter()
            .next()
            .map_or_else(proc_macro2::Span::call_site, |t| t.span());
        let message = darling::Error::custom(
            "`#[lifecycle_core::tasks]` goes on an inherent impl block: `#[lifecycle_core::tasks] impl MyService { … }`",
        )
        .with_span(&span);
        let errors = crate::common::errors_to_tokens(vec![message]);
        return quote::quote!(#errors #item);
    };
    // Created only now: darling's accumulator must be finished, never just dropped.
    let mut errors = darling::Error::accumulator();
    let model = model::TasksModel::build(args, item_impl, &mut errors);
    let expansion = expand::expand(&model);
    let errors = crate::common::errors_to_tokens(errors.into_inner());
    quote::quote!(#expansion #errors)
}
