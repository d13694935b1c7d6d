//! Traits and helpers that macro expansions call (through `__private`). Each carries a
//! `#[diagnostic::on_unimplemented]` message written for the user who hits it.

use std::future::Future;
use std::sync::Arc;

use crate::{BoxError, Health, TaskSpawner};

/// Implemented by `#[lifecycle_core::tasks]` for the type of its impl block.
#[diagnostic::on_unimplemented(
    message = "`{Self}` declares `#[service(tasks)]` but has no `#[lifecycle_core::tasks]` impl block",
    label = "no `#[lifecycle_core::tasks] impl` for `{Self}`",
    note = "add `#[lifecycle_core::tasks] impl {Self} {{ … }}` with its hooks and background tasks, or remove `tasks` from `#[service(…)]`"
)]
pub trait TaskBlock: Sized + Send + Sync + 'static {
    /// The block has an `#[on_start]` method.
    const HAS_START_HOOK: bool;
    /// The block has an `#[on_stop]` method.
    const HAS_STOP_HOOK: bool;
    /// The block has a `#[health]` method.
    const HAS_HEALTH_CHECK: bool;
    /// Calls the `#[on_start]` method.
    fn on_start(&self) -> impl Future<Output = Result<(), BoxError>> + Send;
    /// Calls the `#[on_stop]` method.
    fn on_stop(&self) -> impl Future<Output = Result<(), BoxError>> + Send;
    /// Calls the `#[health]` method.
    fn health(&self) -> impl Future<Output = Health> + Send;
    /// Spawns every `#[background_task]`.
    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>);
}

/// Implemented by `#[derive(Service)]` when it has `#[service(tasks)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a `#[lifecycle_core::tasks]` impl block, but its `#[derive(Service)]` does not declare it",
    label = "this block's hooks and tasks would never run",
    note = "add `#[service(tasks)]` to the struct's `#[derive(Service)]`"
)]
pub trait DeclaresTasks {}

/// The type of a `#[depends_on]` field: `Arc<T>` (through any alias).
#[diagnostic::on_unimplemented(
    message = "a `#[depends_on]` field must be an `Arc<T>`, not `{Self}`",
    label = "not an `Arc<T>`",
    note = "dependencies are shared: write `Arc<{Self}>` (or `Arc<dyn Trait + Send + Sync>`)"
)]
pub trait DependencyField {
    /// The `T` of `Arc<T>`.
    type Target: ?Sized + 'static;
    /// Wraps the shared instance.
    fn from_arc(arc: Arc<Self::Target>) -> Self;
}

impl<T: ?Sized + 'static> DependencyField for Arc<T> {
    type Target = T;
    fn from_arc(arc: Arc<T>) -> Self {
        arc
    }
}

/// What an `#[on_start]`/`#[on_stop]` method may return: `()` or `Result<(), E: Into<BoxError>>`.
#[diagnostic::on_unimplemented(
    message = "a hook must return `()` or `Result<(), E>` where `E: Into<BoxError>`, not `{Self}`",
    label = "this return type is not a hook outcome",
    note = "`anyhow::Result<()>`, `std::io::Result<()>` and `Result<(), YourError>` all work"
)]
pub trait HookOutcome {
    /// The conversion.
    fn into_hook_result(self) -> Result<(), BoxError>;
}

impl HookOutcome for () {
    fn into_hook_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> HookOutcome for Result<(), E> {
    fn into_hook_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// Checks, at the impl block's self type, that its `#[derive(Service)]` declares the block.
pub fn assert_declares_tasks<T: ?Sized + DeclaresTasks>() {}

/// Checks at the user's tokens that a hook or task future is `Send`.
pub fn assert_send<F: Future + Send>(future: F) -> F {
    future
}
