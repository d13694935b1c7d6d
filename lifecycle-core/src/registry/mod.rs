//! Registries: [`DynRegistry`] (services added at run time) and the typed front that
//! `#[derive(Registry)]` generates ([`Registry`], [`Provide`], [`FromRegistry`]). Both build
//! the same engine; [`RunningRegistry`] is the RAII guard of a started one.

mod dynamic;
mod running;
mod typed;

pub use dynamic::{BuiltRegistry, DynRegistry, ServiceId};
pub use running::{RegistryHandle, RunningRegistry};
pub use typed::{Built, FromRegistry, Provide, Registry, Resolver, Running, Slot};
