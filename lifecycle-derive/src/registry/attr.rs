//! The raw options of `#[derive(Registry)]`: `#[registry(…)]` on the struct, `#[value]`,
//! `#[instance]` and `#[provide(…)]` on fields.

use darling::FromMeta;
use syn::Type;
use syn::punctuated::Punctuated;

/// `#[registry(crate = path, builder = Name, services = Name)]`.
#[derive(Default, FromMeta)]
#[darling(default)]
pub(crate) struct RegistryAttr {
    /// Path to `lifecycle_core`.
    #[darling(rename = "crate")]
    pub(crate) krate: Option<crate::options::CratePath>,
    /// The builder's name (default: `{Registry}Builder`).
    pub(crate) builder: Option<TypeName>,
    /// The services struct's name (default: `{Registry}Services`).
    pub(crate) services: Option<TypeName>,
}

/// A name for a generated type: `builder = AppParts` (a string is accepted too).
#[derive(Clone)]
pub(crate) struct TypeName(pub(crate) syn::Ident);

impl FromMeta for TypeName {
    fn from_meta(item: &syn::Meta) -> darling::Result<Self> {
        let name = darling::util::path_to_string(item.path());
        let error = || {
            darling::Error::custom(format!(
                "`{name}` names a generated type: write `{name} = MyName`"
            ))
        };
        match item {
            syn::Meta::NameValue(nv) => match crate::options::strip_group(&nv.value) {
                syn::Expr::Path(p) if p.qself.is_none() => p
                    .path
                    .get_ident()
                    .cloned()
                    .map(Self)
                    .ok_or_else(|| error().with_span(p)),
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => s.parse().map(Self).map_err(|_| error().with_span(s)),
                other => Err(error().with_span(other)),
            },
            other => Err(error().with_span(other)),
        }
    }
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
