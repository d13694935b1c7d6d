//! Registries: [`DynRegistry`] (services added at run time) and the typed front that
//! `#[derive(Registry)]` generates ([`Registry`], [`Provide`], [`FromRegistry`]). Both build
//! the same engine and share one pair of guards, [`Built`] and [`Running`], and one
//! cloneable [`RegistryHandle`].

mod dynamic;
mod handle;
mod run;
mod typed;

pub use dynamic::{DynRegistry, ServiceId};
pub use handle::RegistryHandle;
pub use typed::{Built, FromRegistry, Provide, Registry, Resolver, Running, Slot};
