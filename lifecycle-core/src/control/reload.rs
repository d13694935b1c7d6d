//! Reload: every Running service with an `on_reload` hook, in dependency order (a service
//! reloads once its dependencies' reloads ended), independent ones concurrently, each bounded
//! by its `hook_timeout`. Run by the control task like any transition: it never interleaves
//! with a restart, and a registry stop interrupts it.

use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Run;
use super::admin::AdminError;
use crate::engine::{Engine, deadline_after, lock};
use crate::error::{Panicked, TimedOut};
use crate::events::{Event, ServiceIndex};
use crate::{Phase, ServiceError, State};

/// How one service reloaded.
///
/// ```
/// # fn f(report: &lifecycle_core::ReloadReport) {
/// if let Some(config) = report.service("Config") {
///     println!("Config reloaded in {:?}: {:?}", config.duration, config.error);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceReload {
    /// The service's name.
    pub service: Cow<'static, str>,
    /// When its `on_reload` began, from the beginning of the reload.
    pub began_after: Duration,
    /// How long it took.
    pub duration: Duration,
    /// Its error, timeout or panic (phase [`Phase::Reload`]); the service keeps running.
    pub error: Option<Arc<ServiceError>>,
}

/// What a reload did: one entry per service that has an `on_reload` and was Running, in the
/// order they finished.
///
/// ```
/// # async fn f(handle: lifecycle_core::RegistryHandle) -> Result<(), lifecycle_core::AdminError> {
/// let report = handle.reload().await?;
/// for failed in report.errors() {
///     eprintln!("{failed}"); // the service keeps running with its previous configuration
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Each service reloaded, in the order its `on_reload` ended.
    pub services: Vec<ServiceReload>,
    /// The whole reload.
    pub duration: Duration,
    /// A registry stop arrived: reloads in flight were dropped.
    pub interrupted: bool,
}

impl ReloadReport {
    /// Every reload succeeded and none was interrupted.
    pub fn is_clean(&self) -> bool {
        !self.interrupted && self.services.iter().all(|s| s.error.is_none())
    }

    /// The errors, per service.
    pub fn errors(&self) -> impl Iterator<Item = &Arc<ServiceError>> {
        self.services.iter().filter_map(|s| s.error.as_ref())
    }

    /// The report of one service, by name.
    pub fn service(&self, name: &str) -> Option<&ServiceReload> {
        self.services.iter().find(|s| s.service == name)
    }
}

pub(crate) type ReloadOutcome = Result<Arc<ReloadReport>, AdminError>;
type ReloadFuture<'e> = Pin<Box<dyn Future<Output = ()> + Send + 'e>>;

/// The reload in progress.
pub(crate) struct Reloading<'e> {
    began: Instant,
    done: Arc<Mutex<Vec<ServiceReload>>>,
    future: ReloadFuture<'e>,
    waiters: Vec<oneshot::Sender<ReloadOutcome>>,
}

impl Engine {
    /// Reloads every Running service with a hook, in dependency order, into `done`.
    async fn reload_all(self: &Arc<Self>, done: Arc<Mutex<Vec<ServiceReload>>>) {
        let began = Instant::now();
        let n = self.nodes.len();
        let mut waiting: Vec<usize> = (0..n as ServiceIndex)
            .map(|i| self.graph.deps(i).len())
            .collect();
        let mut ready: Vec<ServiceIndex> = (0..n as ServiceIndex)
            .filter(|&i| waiting[i as usize] == 0)
            .rev()
            .collect();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while let Some(i) = ready.pop() {
                let node = self.node(i);
                if node.service.has_reload_hook() && node.state.get() == State::Running {
                    in_flight.push(self.run_reload_hook(i, began));
                } else {
                    self.release(i, &mut waiting, &mut ready);
                }
            }
            let Some((i, reload)) = tokio::task::unconstrained(in_flight.next()).await else {
                return;
            };
            lock(&done).push(reload);
            // A failed reload stops nothing, and does not hold its dependents back.
            self.release(i, &mut waiting, &mut ready);
        }
    }

    fn release(&self, i: ServiceIndex, waiting: &mut [usize], ready: &mut Vec<ServiceIndex>) {
        for &d in self.graph.dependents(i) {
            waiting[d as usize] -= 1;
            if waiting[d as usize] == 0 {
                ready.push(d);
            }
        }
    }

    async fn run_reload_hook(
        self: &Arc<Self>,
        i: ServiceIndex,
        began: Instant,
    ) -> (ServiceIndex, ServiceReload) {
        let node = self.node(i);
        let from = Instant::now();
        let limit = node.options.hook_timeout();
        let current = crate::Shutdown::new(Arc::clone(self), i);
        let hook = crate::task::CURRENT.scope(
            current,
            AssertUnwindSafe(node.service.reload_hook()).catch_unwind(),
        );
        let error = |source| {
            Some(Arc::new(ServiceError::new(
                node.name.to_string(),
                Phase::Reload,
                source,
            )))
        };
        let error = match tokio::time::timeout_at(deadline_after(from, limit), hook).await {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(e))) => error(e),
            Ok(Err(panic)) => error(Box::new(Panicked::from_payload(&*panic))),
            Err(_) => error(Box::new(TimedOut(limit))),
        };
        if let Some(e) = &error {
            tracing::error!(service = %node.name, error = %e, "reload failed; the service keeps running");
        }
        let reload = ServiceReload {
            service: node.name.clone(),
            began_after: from - began,
            duration: from.elapsed(),
            error,
        };
        (i, reload)
    }
}

/// Polls the reload in progress (pending forever without one; the branch is disabled then).
pub(crate) async fn poll_reload(reload: Option<&mut Reloading<'_>>) {
    match reload {
        Some(r) => tokio::task::unconstrained(r.future.as_mut()).await,
        None => std::future::pending().await,
    }
}

impl Reloading<'_> {
    fn finish(self, interrupted: bool) -> Arc<ReloadReport> {
        let report = Arc::new(ReloadReport {
            services: std::mem::take(&mut *lock(&self.done)),
            duration: self.began.elapsed(),
            interrupted,
        });
        for waiter in self.waiters {
            let _ = waiter.send(Ok(Arc::clone(&report)));
        }
        report
    }
}

impl<'e> Run<'e> {
    /// A reload request: coalesced with others waiting for the next reload.
    pub(super) fn request_reload(&mut self, reply: Option<oneshot::Sender<ReloadOutcome>>) {
        if self.stopping.is_some() {
            if let Some(reply) = reply {
                let _ = reply.send(Err(AdminError::NotRunning));
            }
            return;
        }
        self.reload_requested = true;
        self.reload_waiters.extend(reply);
    }

    /// Begins the requested reload.
    pub(super) fn begin_reload(&mut self) {
        let engine = self.engine;
        self.reload_requested = false;
        engine.emit_registry(Event::Reloading);
        tracing::info!("reloading");
        let done = Arc::new(Mutex::new(Vec::new()));
        self.reloading = Some(Reloading {
            began: Instant::now(),
            future: Box::pin(engine.reload_all(Arc::clone(&done))),
            done,
            waiters: std::mem::take(&mut self.reload_waiters),
        });
    }

    /// The reload ended (or was interrupted by a registry stop).
    pub(super) fn reload_finished(&mut self, interrupted: bool) {
        let Some(reloading) = self.reloading.take() else {
            return;
        };
        let report = reloading.finish(interrupted);
        let failed = report.errors().count() as u32;
        tracing::info!(failed, duration = ?report.duration, "reload finished");
        self.engine.emit_registry(Event::Reloaded { failed });
    }

    /// A registry stop: reload requests still waiting are refused.
    pub(super) fn refuse_reloads(&mut self) {
        self.reload_requested = false;
        for waiter in self.reload_waiters.drain(..) {
            let _ = waiter.send(Err(AdminError::NotRunning));
        }
    }
}
