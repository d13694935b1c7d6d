//! Generates `impl Service`, `impl FromRegistry<R>` and (with `tasks`) `impl DeclaresTasks`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Ident, Type, WherePredicate, parse_quote};

use super::model::{FieldKind, ServiceModel};
use crate::common::{local, respan};

pub(crate) fn expand(model: &ServiceModel) -> TokenStream {
    let krate = &model.krate;
    let ident = &model.ident;
    let (impl_generics, ty_generics, where_clause) = model.generics.split_for_impl();
    let mut service_generics = model.generics.clone();
    if !model.generics.params.is_empty() {
        // Generic services: the supertraits hold wherever the impl applies.
        let bound: WherePredicate =
            parse_quote!(Self: ::core::marker::Send + ::core::marker::Sync + 'static);
        service_generics.make_where_clause().predicates.push(bound);
    }
    let service_where = &service_generics.where_clause;
    let name = &model.name;
    let options = &model.options;
    let options = if options.is_empty() {
        TokenStream::new()
    } else {
        quote!(const OPTIONS: #krate::ServiceOptions = #krate::ServiceOptions::DEFAULT #(.#options)*;)
    };

    // One constant, not five overriding methods and four `HAS_*` constants: `Service`'s
    // defaults follow these function pointers, and every overriding method is what
    // `cargo check` pays for per service (benches/compile-time/CHECK-TIME.md). Spanned at the
    // `tasks` flag: a missing tasks block is reported there, once.
    let hooks = model.tasks.map_or_else(
        || quote!(#krate::__private::Hooks::NONE),
        |span| quote_spanned!(span=> <Self as #krate::__private::TaskBlock>::HOOKS),
    );
    let hooks = quote! {
        const HOOKS: ::core::option::Option<#krate::__private::Hooks<Self>> =
            ::core::option::Option::Some(#hooks);
    };

    let fields = model.fields.as_deref().unwrap_or_default();
    let dependency_types: Vec<TokenStream> = fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Dependency))
        .map(|f| {
            let ty = &f.ty;
            let krate = respan(krate, ty.span());
            quote_spanned!(ty.span()=> #krate::Dependency::of::<<#ty as #krate::__private::DependencyField>::Target>())
        })
        .collect();
    let dependencies = (!dependency_types.is_empty()).then(|| {
        quote! {
            fn dependencies() -> ::std::vec::Vec<#krate::Dependency> {
                ::std::vec![#(#dependency_types),*]
            }
        }
    });

    // A generic service is named with its type arguments, so two instantiations can share
    // a registry (and its reports tell them apart).
    let type_params: Vec<_> = model.generics.type_params().map(|p| &p.ident).collect();
    let generic_name = (!type_params.is_empty()).then(|| {
        quote! {
            fn name() -> ::std::borrow::Cow<'static, str> {
                #krate::__private::generic_name(#name, &[#(::core::any::type_name::<#type_params>()),*])
            }
        }
    });

    let service_impl = quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Service for #ident #ty_generics #service_where {
            const NAME: &'static str = #name;
            #generic_name
            #options
            #dependencies
            #hooks
        }
    };

    let from_registry = model
        .fields
        .as_ref()
        .map_or_else(|| from_registry_stub(model), |_| from_registry(model));

    let declares = model.tasks.map(|span| {
        quote_spanned! {span=>
            #[automatically_derived]
            impl #impl_generics #krate::__private::DeclaresTasks for #ident #ty_generics #where_clause {}
        }
    });

    let shareable = shareable_fields(model);

    quote! {
        const _: () = {
            #shareable
            #service_impl
            #from_registry
            #declares
        };
    }
}

/// The registry type parameter of `impl<R> FromRegistry<R>`.
fn registry_param() -> Ident {
    Ident::new("__LifecycleRegistry", Span::call_site())
}

fn from_registry(model: &ServiceModel) -> TokenStream {
    let krate = &model.krate;
    let ident = &model.ident;
    let registry = registry_param();
    // `R: ProvideField<FieldType>`, no projection: a field that is not an `Arc` is reported
    // once (by `dependencies()`), and a missing dependency names `Provide<T>`. `Default` is
    // needed only where the registry builds the service: a service that is only ever given as
    // an `#[instance]` needs none; through the registry parameter, the bound is not a
    // trivially false one on a concrete type. Written as tokens, not parsed (the derive runs
    // unoptimized in dev builds, and syn's parser is most of its time).
    let bound = |ty: &Type, helper: &str| {
        let krate = respan(krate, ty.span());
        let registry = respan(&quote!(#registry), ty.span());
        let helper = Ident::new(helper, ty.span());
        quote_spanned!(ty.span()=> #registry: #krate::__private::#helper<#ty>)
    };
    let predicates: Vec<TokenStream> = dependency_fields(model)
        .map(|ty| bound(ty, "ProvideField"))
        .chain(default_fields(model).map(|ty| bound(ty, "DefaultField")))
        .collect();
    let (_, ty_generics, _) = model.generics.split_for_impl();
    let (impl_generics, where_clause) =
        if model.generics.params.is_empty() && model.generics.where_clause.is_none() {
            let where_clause = (!predicates.is_empty()).then(|| quote!(where #(#predicates),*));
            (quote!(<#registry: #krate::Registry>), where_clause)
        } else {
            let mut generics = model.generics.clone();
            generics
                .params
                .push(parse_quote!(#registry: #krate::Registry));
            let where_clause = generics.make_where_clause();
            for predicate in &predicates {
                where_clause.predicates.push(parse_quote!(#predicate));
            }
            let (impl_generics, _, where_clause) = generics.split_for_impl();
            (quote!(#impl_generics), Some(quote!(#where_clause)))
        };
    let fields = model.fields.as_deref().unwrap_or_default();
    // `__lifecycle_cx` starts with `_`: no unused-variable warning without dependencies.
    let cx = local("cx");
    let inits = fields.iter().map(|f| {
        let field = &f.ident;
        let ty = &f.ty;
        match &f.kind {
            FieldKind::Dependency => {
                let krate = respan(krate, ty.span());
                let registry = respan(&quote!(#registry), ty.span());
                quote_spanned! {ty.span()=>
                    #field: <#registry as #krate::__private::ProvideField<#ty>>::provide_field(#cx)?
                }
            }
            FieldKind::Default(expr) => quote!(#field: #expr),
            FieldKind::DefaultTrait => {
                let krate = respan(krate, ty.span());
                let registry = respan(&quote!(#registry), ty.span());
                quote_spanned!(ty.span()=> #field: <#registry as #krate::__private::DefaultField<#ty>>::default_field())
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::FromRegistry<#registry> for #ident #ty_generics #where_clause {
            fn from_registry(#cx: &mut #krate::Resolver<#registry>) -> ::core::result::Result<Self, #krate::BuildError> {
                ::core::result::Result::Ok(Self { #(#inits,)* })
            }
        }
    }
}

/// For a type of the wrong shape: an impl that keeps registries using it compiling, so the
/// shape error is the only one.
fn from_registry_stub(model: &ServiceModel) -> TokenStream {
    let krate = &model.krate;
    let ident = &model.ident;
    let registry = registry_param();
    let mut generics = model.generics.clone();
    generics
        .params
        .push(parse_quote!(#registry: #krate::Registry));
    let (_, ty_generics, _) = model.generics.split_for_impl();
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let name = &model.name;
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::FromRegistry<#registry> for #ident #ty_generics #where_clause {
            fn from_registry(_: &mut #krate::Resolver<#registry>) -> ::core::result::Result<Self, #krate::BuildError> {
                ::core::result::Result::Err(#krate::Resolver::<#registry>::missing_instance(#name))
            }
        }
    }
}

/// The types of the fields filled with `Default::default()`, in order.
fn default_fields(model: &ServiceModel) -> impl Iterator<Item = &Type> {
    model
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::DefaultTrait))
        .map(|f| &f.ty)
}

/// For a non-generic service: each field's type must be `Send + Sync`, checked at the field's
/// type so the first error points at the field that is not (rustc's own error, at the struct's
/// name, follows). Generic services are checked where they are instantiated.
fn shareable_fields(model: &ServiceModel) -> Option<TokenStream> {
    if !model.generics.params.is_empty() {
        return None;
    }
    let krate = &model.krate;
    let checks: Vec<TokenStream> = model
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let ty = &f.ty;
            let krate = respan(krate, ty.span());
            quote_spanned!(ty.span()=> #ty: #krate::__private::ShareableField,)
        })
        .collect();
    // A where clause is checked with the item's signature, before the `Service` impl (whose
    // supertraits rustc reports at the struct's name), so this error comes first.
    (!checks.is_empty()).then(|| {
        quote! {
            #[allow(dead_code)]
            struct ShareableFields where #(#checks)*;
        }
    })
}

/// The types of the `#[depends_on]` fields, in order.
fn dependency_fields(model: &ServiceModel) -> impl Iterator<Item = &Type> {
    model
        .fields
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Dependency))
        .map(|f| &f.ty)
}
