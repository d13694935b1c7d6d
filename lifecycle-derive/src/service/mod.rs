//! `#[derive(Service)]`: parse (`attr`) → validate (`model`) → generate (`expand`).

pub(crate) mod attr;
mod expand;
mod model;

use proc_macro2::TokenStream;

/// Entry point of the derive.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let mut errors = darling::Error::accumulator();
    let model = model::ServiceModel::build(input, &mut errors);
    let expansion = expand::expand(&model);
    let errors = crate::common::errors_to_tokens(errors.into_inner());
    quote::quote!(#expansion #errors)
}
