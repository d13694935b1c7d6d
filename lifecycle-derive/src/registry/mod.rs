//! `#[derive(Registry)]`: parse (`attr`) → validate (`model`) → generate (`expand`).

mod attr;
mod expand;
mod model;

use proc_macro2::TokenStream;

/// Entry point of the derive.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let mut errors = darling::Error::accumulator();
    let model = model::RegistryModel::build(input, &mut errors);
    let expansion = model.as_ref().map(expand::expand);
    let errors = crate::common::errors_to_tokens(errors.into_inner());
    quote::quote!(#expansion #errors)
}
