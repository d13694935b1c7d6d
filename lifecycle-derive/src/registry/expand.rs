//! Generates the builder, the services struct, the slots, `impl Registry` and one
//! `impl Provide<T>` per field (and per `#[provide]` key).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;

use super::model::{FieldKind, RegistryModel};
use crate::common::{local, local_at, respan};

pub(crate) fn expand(model: &RegistryModel) -> TokenStream {
    let krate = &model.krate;
    let ident = &model.ident;
    let vis = &model.vis;
    let name = ident.unraw().to_string();
    let builder = &model.builder;
    let services = &model.services;
    let slots = &model.slots;
    let fields = &model.fields;
    let idents: Vec<&Ident> = fields.iter().map(|f| &f.ident).collect();
    let types: Vec<&syn::Type> = fields.iter().map(|f| &f.ty).collect();
    // Locals of `build()`, out of reach of user code and of each other.
    let locals: Vec<Ident> = fields
        .iter()
        .map(|f| local(&format!("field_{}", f.ident.unraw())))
        .collect();
    let cx = local("cx");
    let registry = local("registry");
    // Not a name a field can take (`options` and `build` are rejected as field names).
    let options_field = Ident::new("__registry_options", Span::call_site());

    let builder_name = builder.to_string();
    let services_name = services.to_string();
    let field_names: Vec<String> = fields.iter().map(|f| f.ident.unraw().to_string()).collect();
    let builder_doc = format!(
        "Builds a [`{name}`]: give it the instances it cannot build from their dependencies, then call [`build`]({builder}::build)."
    );
    let services_doc =
        format!("The services and values of a [`{name}`], each shared behind an `Arc`.");
    let value = local("value");
    let setters = fields.iter().filter(|f| !f.reserved).map(|f| {
        let field = &f.ident;
        let ty = &f.ty;
        let shown = field.unraw();
        let doc = match f.kind {
            FieldKind::Value => format!("Gives the value `{shown}` (required)."),
            FieldKind::Instance => format!("Gives the service `{shown}` (required)."),
            FieldKind::Service => {
                format!("Gives the service `{shown}`; without it, `build` constructs it from its dependencies.")
            }
        };
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #field(mut self, #value: #ty) -> Self {
                self.#field = ::core::option::Option::Some(#value);
                self
            }
        }
    });
    let service_field_docs = fields
        .iter()
        .map(|f| format!("`{}` of the registry.", f.ident.unraw()));

    let provides = provide_impls(model, &cx);

    let resolve = fields.iter().zip(&locals).map(|(f, local)| {
        let ty = &f.ty;
        quote!(let #local = <#ident as #krate::Provide<#ty>>::provide(&mut #cx)?;)
    });
    // Every field is shared across threads: say so at the field, before anything else.
    let shareable = types.iter().map(|ty| {
        let krate = respan(krate, ty.span());
        quote_spanned!(ty.span()=> #krate::__private::assert_shareable::<#ty>();)
    });
    let register = fields.iter().zip(&locals).map(|(f, field_local)| {
        let ty = &f.ty;
        let keys = &f.provides;
        match f.kind {
            FieldKind::Value => quote! {
                #registry.add_value::<#ty>();
                #( #registry.add_value::<#keys>(); )*
            },
            FieldKind::Service | FieldKind::Instance => {
                let id = local("id");
                let local = field_local;
                let add = {
                    let krate = respan(krate, ty.span());
                    quote_spanned!(ty.span()=> #krate::__private::add_service::<#ty>(&mut #registry, ::core::clone::Clone::clone(&#local)))
                };
                if keys.is_empty() {
                    quote!(#add;)
                } else {
                    quote! {
                        let #id = #add;
                        #( #registry.provide::<#keys, _>(#id)?; )*
                    }
                }
            }
        }
    });

    let touch = local("registry");
    let f = local("f");
    let options = local("options");
    let services_local = local("services");

    // The builder, services and slots are defined inside the anonymous `const` block, under
    // their own names: every reference the expansion makes reaches them (a block's items
    // shadow the module's), whatever the user's module names. Outside, the builder and the
    // services are named through aliases; a user item of the same name is E0428 at the alias
    // (spanned at the registry's name, or at the name given in `#[registry(…)]`), then one
    // explanatory error from the check below, and no cascade into the generated impls.
    let assert_builder = respan(
        &quote!(#krate::__private::assert_generated_builder),
        builder.span(),
    );
    let assert_services = respan(
        &quote!(#krate::__private::assert_generated_services),
        services.span(),
    );
    // Every token of an alias at its name: E0428's "redefined here" (or "previous
    // definition") label points at the registry's name or at the name in `#[registry(…)]`.
    let builder_alias = respan(
        &quote!(#vis type #builder = <#ident as #krate::__private::RegistryBuilder>::Builder;),
        builder.span(),
    );
    let services_alias = respan(
        &quote!(#vis type #services = <#ident as #krate::Registry>::Services;),
        services.span(),
    );
    quote! {
        #[doc = #builder_doc]
        #builder_alias

        #[doc = #services_doc]
        #services_alias

        // In the registry's module, the names resolve to the generated types: no user item
        // of the same name shadows the aliases.
        const _: () = {
            #assert_builder::<#builder, #ident>();
            #assert_services::<#services, #ident>();
        };

        const _: () = {
            #[doc = #builder_doc]
            #[must_use]
            #vis struct #builder {
                #( #idents: ::core::option::Option<#types>, )*
                #options_field: ::core::option::Option<#krate::RegistryOptions>,
            }

            #[doc = #services_doc]
            #[derive(::core::clone::Clone)]
            #vis struct #services {
                #(
                    #[doc = #service_field_docs]
                    pub #idents: ::std::sync::Arc<#types>,
                )*
            }

            #[doc(hidden)]
            #vis struct #slots {
                #( #idents: #krate::Slot<#types>, )*
            }

            #[automatically_derived]
            impl #krate::__private::RegistryBuilder for #ident {
                type Builder = #builder;
            }

            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #krate::__private::GeneratedBuilder<#ident> for #builder {}

            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #krate::__private::GeneratedServices<#ident> for #services {}

            #[automatically_derived]
            impl #ident {
                /// Starts building the registry.
                pub fn builder() -> #builder {
                    #builder {
                        #( #idents: ::core::option::Option::None, )*
                        #options_field: ::core::option::Option::None,
                    }
                }
            }

            /// A registry value with every instance given: build it with nothing constructed.
            #[automatically_derived]
            impl ::core::convert::From<#ident> for #builder {
                fn from(#touch: #ident) -> Self {
                    #builder {
                        #( #idents: ::core::option::Option::Some(#touch.#idents), )*
                        #options_field: ::core::option::Option::None,
                    }
                }
            }

            #[automatically_derived]
            impl #builder {
                #(#setters)*

                /// Registry-wide options: shutdown timeout, jitter seed, health timeout, observers.
                #[must_use]
                pub fn options(mut self, #options: #krate::RegistryOptions) -> Self {
                    self.#options_field = ::core::option::Option::Some(#options);
                    self
                }

                /// Builds every service not given from its dependencies, checks the graph for
                /// cycles and wires the engine. Nothing starts yet.
                ///
                /// # Errors
                ///
                /// A dependency cycle (with its path), or a `#[value]`/`#[instance]` field that
                /// was not given.
                pub fn build(self) -> ::core::result::Result<#krate::Built<#ident>, #krate::BuildError> {
                    #(#shareable)*
                    let mut #cx = #krate::Resolver::<#ident>::new(#slots {
                        #( #idents: ::core::convert::From::from(self.#idents), )*
                    });
                    #(#resolve)*
                    let mut #registry = #krate::DynRegistry::with_options(
                        ::core::option::Option::unwrap_or_default(self.#options_field),
                    );
                    #(#register)*
                    let #services_local = #services { #( #idents: #locals, )* };
                    ::core::result::Result::Ok(#krate::Built::new(#services_local, #registry.build()?))
                }
            }

            #[automatically_derived]
            impl ::core::fmt::Debug for #builder {
                fn fmt(&self, #f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #f.debug_struct(#builder_name)
                        #( .field(#field_names, &::core::option::Option::is_some(&self.#idents)) )*
                        .finish_non_exhaustive()
                }
            }

            #[automatically_derived]
            impl ::core::fmt::Debug for #services {
                fn fmt(&self, #f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #f.debug_struct(#services_name)
                        #( .field(#field_names, &::core::any::type_name::<#types>()) )*
                        .finish()
                }
            }

            #[automatically_derived]
            impl #krate::Registry for #ident {
                const NAME: &'static str = #name;
                type Slots = #slots;
                type Services = #services;
            }

            #(#provides)*
        };
    }
}

/// One `impl Provide<T>` per field and per `#[provide]` key, spanned at the field's type (a
/// type listed twice is a conflict at the second field).
fn provide_impls(model: &RegistryModel, cx: &Ident) -> Vec<TokenStream> {
    let krate = &model.krate;
    let ident = &model.ident;
    let slots = local("slots");
    model.fields.iter().filter(|f| !f.duplicate).map(|f| {
        let field = &f.ident;
        let field_name = field.unraw().to_string();
        let ty = &f.ty;
        let construct = match f.kind {
            FieldKind::Service => quote_spanned! {ty.span()=>
                <#ty as #krate::FromRegistry<Self>>::from_registry
            },
            FieldKind::Instance | FieldKind::Value => quote! {
                |_| ::core::result::Result::Err(#krate::Resolver::<Self>::missing_instance(#field_name))
            },
        };
        let main = quote_spanned! {ty.span()=>
            #[automatically_derived]
            impl #krate::Provide<#ty> for #ident {
                fn provide(#cx: &mut #krate::Resolver<Self>) -> ::core::result::Result<::std::sync::Arc<#ty>, #krate::BuildError> {
                    #cx.resolve(#field_name, |#slots| &mut #slots.#field, #construct)
                }
            }
        };
        let keys = f.provides.iter().map(|key| {
            // The coercion is its own statement, every token at the key in one syntax
            // context: a type that does not implement the trait is reported at the key.
            let span = key.span();
            let shared = local_at("shared", span);
            let concrete = local_at("concrete", span);
            let key_at = respan(&quote!(#key), span);
            let coerce = quote_spanned!(span=> let #shared: ::std::sync::Arc<#key_at> = #concrete;);
            quote_spanned! {span=>
                #[automatically_derived]
                impl #krate::Provide<#key> for #ident {
                    fn provide(#cx: &mut #krate::Resolver<Self>) -> ::core::result::Result<::std::sync::Arc<#key>, #krate::BuildError> {
                        let #concrete: ::std::sync::Arc<#ty> = <Self as #krate::Provide<#ty>>::provide(#cx)?;
                        #coerce
                        ::core::result::Result::Ok(#shared)
                    }
                }
            }
        });
        quote!(#main #(#keys)*)
    }).collect()
}
