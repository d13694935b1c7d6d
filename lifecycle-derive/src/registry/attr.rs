//! The raw options of `#[derive(Registry)]`: `#[registry(…)]` on the struct, `#[value]`,
//! `#[instance]` and `#[provide(…)]` on fields.

use darling::FromMeta;
use syn::Type;
use syn::punctuated::Punctuated;

/// `#[registry(crate = path)]`.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct RegistryAttr {
    /// Path to `lifecycle_core`.
    #[darling(rename = "crate")]
    pub(crate) krate: Option<crate::options::CratePath>,
}

/// `#[provide(dyn A, dyn B)]`: the extra keys a field provides.
pub(crate) fn provided_keys(attr: &syn::Attribute) -> darling::Result<Vec<Type>> {
    match &attr.meta {
        syn::Meta::List(list) => list
            .parse_args_with(Punctuated::<Type, syn::Token![,]>::parse_terminated)
            .map(|keys| keys.into_iter().collect())
            .map_err(darling::Error::from),
        other => Err(darling::Error::custom(
            "write the keys this field also provides: `#[provide(dyn Trait)]`",
        )
        .with_span(other)),
    }
}
