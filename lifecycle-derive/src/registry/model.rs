//! The validated registry: its fields and what each one is.

use darling::error::Accumulator;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens as _;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use super::attr::{RegistryAttr, provided_keys};
use crate::common::{crate_path, is_attr, marker, nested_items, parse_lenient};

/// A `#[derive(Registry)]` struct.
pub(crate) struct RegistryModel {
    pub(crate) ident: Ident,
    /// The generated builder and services types.
    pub(crate) builder: Ident,
    pub(crate) services: Ident,
    /// The hidden slots type.
    pub(crate) slots: Ident,
    pub(crate) vis: Visibility,
    pub(crate) krate: TokenStream,
    pub(crate) fields: Vec<FieldModel>,
}

/// One field: a service or a value.
pub(crate) struct FieldModel {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) kind: FieldKind,
    /// `#[provide(…)]` keys.
    pub(crate) provides: Vec<Type>,
    /// Named like a builder method (an error is reported; no setter is generated).
    pub(crate) reserved: bool,
    /// The same type as an earlier field (an error is reported; no `Provide` impl generated).
    pub(crate) duplicate: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// A service given to the builder or built from its dependencies.
    Service,
    /// `#[instance]`: a service that must be given to the builder.
    Instance,
    /// `#[value]`: a plain value that must be given to the builder; no lifecycle.
    Value,
}

/// Builder methods a field name would collide with.
const RESERVED: [&str; 2] = ["options", "build"];

impl RegistryModel {
    /// `None` when no expansion makes sense (not a named struct).
    pub(crate) fn build(input: &DeriveInput, errors: &mut Accumulator) -> Option<Self> {
        let items = nested_items(&input.attrs, "registry", errors);
        let attr = parse_lenient::<RegistryAttr>(&items, errors);
        let krate = crate_path(attr.krate.as_ref().map(|k| &k.0));
        if !input.generics.params.is_empty() {
            errors.push(
                darling::Error::custom(
                    "a registry cannot be generic: it is the application's concrete composition",
                )
                .with_span(&input.generics),
            );
            return None;
        }
        let shape = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Ok(named),
                Fields::Unnamed(_) => Err("a tuple struct"),
                Fields::Unit => Err("a unit struct"),
            },
            Data::Enum(_) => Err("an enum"),
            Data::Union(_) => Err("a union"),
        };
        let named = match shape {
            Ok(named) => named,
            Err(what) => {
                errors.push(
                    darling::Error::custom(format!(
                        "`#[derive(Registry)]` needs a struct with one named field per service or value, and `{}` is {what}",
                        input.ident
                    ))
                    .with_span(&input.ident),
                );
                return None;
            }
        };
        let mut fields: Vec<FieldModel> = named
            .named
            .iter()
            .filter_map(|f| field(f, errors))
            .collect();
        duplicate_types(&mut fields, errors);
        // `struct r#struct` gets a `StructBuilder`: generated names are upper camel case.
        let unraw = upper_first(&input.ident.unraw().to_string());
        let builder = attr.builder.map_or_else(
            || Ident::new(&format!("{unraw}Builder"), input.ident.span()),
            |b| b.0,
        );
        let services = attr.services.map_or_else(
            || Ident::new(&format!("{unraw}Services"), input.ident.span()),
            |s| s.0,
        );
        let slots = Ident::new(&format!("{unraw}Slots"), input.ident.span());
        Some(Self {
            ident: input.ident.clone(),
            builder,
            services,
            slots,
            vis: input.vis.clone(),
            krate,
            fields,
        })
    }
}

/// The same type (or `#[provide]` key), written the same way, on two fields: one error at the
/// second, with what to do, and no second `Provide` impl (rustc's E0119 says less). Aliases of
/// one type are not seen here; rustc reports those (E0119 at the second field).
fn duplicate_types(fields: &mut [FieldModel], errors: &mut Accumulator) {
    let mut seen: Vec<(String, String)> = Vec::new();
    for field in fields.iter_mut() {
        let name = field.ident.unraw().to_string();
        let ty = field.ty.to_token_stream().to_string();
        if let Some((_, first)) = seen.iter().find(|(t, _)| *t == ty) {
            errors.push(
                darling::Error::custom(format!(
                    "the registry already has a `{}` (field `{first}`): a registry holds one instance per type, which is how `#[depends_on]` finds it; wrap one in a newtype (`struct Replica(Database)`) or register several instances in a `DynRegistry`",
                    pretty(&field.ty)
                ))
                .with_span(&field.ty),
            );
            field.duplicate = true;
        } else {
            seen.push((ty, name.clone()));
        }
        let mut kept = Vec::new();
        for key in std::mem::take(&mut field.provides) {
            let text = key.to_token_stream().to_string();
            if let Some((_, first)) = seen.iter().find(|(t, _)| *t == text) {
                errors.push(
                    darling::Error::custom(format!(
                        "`{}` is already provided by field `{first}`: a dependency on it must resolve to one field; keep one `#[provide({})]`",
                        pretty(&key),
                        pretty(&key)
                    ))
                    .with_span(&key),
                );
            } else {
                seen.push((text, name.clone()));
                kept.push(key);
            }
        }
        field.provides = kept;
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A type as written, without the token spacing of `to_string` (`Arc<dyn Cache>`).
pub(crate) fn pretty(ty: &Type) -> String {
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

fn field(field: &syn::Field, errors: &mut Accumulator) -> Option<FieldModel> {
    let ident = field.ident.clone()?;
    let name = ident.to_string();
    let reserved = RESERVED.contains(&name.trim_start_matches("r#"));
    if reserved {
        errors.push(
            darling::Error::custom(format!(
                "a registry field cannot be named `{name}`: the builder has a method of that name"
            ))
            .with_span(&ident),
        );
    }
    let mut kind: Option<(FieldKind, Span)> = None;
    let mut provides = Vec::new();
    for attr in &field.attrs {
        let this = if is_attr(attr, "value") {
            Some((FieldKind::Value, "value"))
        } else if is_attr(attr, "instance") {
            Some((FieldKind::Instance, "instance"))
        } else {
            None
        };
        if let Some((this, word)) = this {
            // A malformed `#[value(…)]` still marks a value: that is what was meant.
            let span = errors
                .handle(marker(attr, word))
                .unwrap_or_else(|| attr.path().span());
            {
                if kind.is_some() {
                    errors.push(
                        darling::Error::custom(
                            "a field is either `#[value]` or `#[instance]`, once",
                        )
                        .with_span(&span),
                    );
                } else {
                    kind = Some((this, span));
                }
            }
        } else if is_attr(attr, "provide")
            && let Some(keys) = errors.handle(provided_keys(attr))
        {
            provides.extend(keys);
        }
    }
    let kind = kind.map_or(FieldKind::Service, |(k, _)| k);
    Some(FieldModel {
        ident,
        ty: field.ty.clone(),
        kind,
        provides,
        reserved,
        duplicate: false,
    })
}
