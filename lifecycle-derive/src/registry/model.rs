//! The validated registry: its fields and what each one is.

use darling::error::Accumulator;
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use super::attr::{RegistryAttr, provided_keys};
use crate::common::{crate_path, is_attr, marker, nested_items, parse_lenient};

/// A `#[derive(Registry)]` struct.
pub(crate) struct RegistryModel {
    pub(crate) ident: Ident,
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
        let fields = named
            .named
            .iter()
            .filter_map(|f| field(f, errors))
            .collect();
        Some(Self {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            krate,
            fields,
        })
    }
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
    })
}
