//! The one run loop behind `run_until` and `run_until_signal`: start (cancellable by the
//! trigger), wait for the trigger or for the registry to stop by itself, stop, and turn the
//! stop report into the outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::handle::outcome;
use super::typed::{Built, Registry, Running};
use crate::{RegistryStopReport, RunError};

/// What asks the registry to stop: a user future (once) or SIGINT/SIGTERM (repeatedly).
pub(crate) enum Trigger<F> {
    Once(Option<Pin<Box<F>>>),
    #[cfg(feature = "signal")]
    Signals(crate::signal::Signals),
}

impl<F: Future<Output = ()>> Trigger<F> {
    pub(crate) fn once(future: F) -> Self {
        Trigger::Once(Some(Box::pin(future)))
    }

    /// The next trigger; a one-shot future that already fired never fires again.
    async fn next(&mut self) {
        match self {
            Trigger::Once(slot) => match slot {
                Some(future) => {
                    future.as_mut().await;
                    *slot = None;
                }
                None => std::future::pending().await,
            },
            #[cfg(feature = "signal")]
            Trigger::Signals(signals) => {
                signals.recv().await;
                tracing::info!("signal received: stopping");
            }
        }
    }
}

pub(crate) async fn run<R: Registry, F: Future<Output = ()>>(
    built: Built<R>,
    mut trigger: Trigger<F>,
) -> Result<Arc<RegistryStopReport>, RunError> {
    let cancel = CancellationToken::new();
    let start = built.start_until(&cancel);
    tokio::pin!(start);
    let running = loop {
        tokio::select! {
            result = &mut start => break result?,
            () = trigger.next(), if !cancel.is_cancelled() => cancel.cancel(),
        }
    };
    run_started(running, trigger).await
}

pub(crate) async fn run_started<R: Registry, F: Future<Output = ()>>(
    mut running: Running<R>,
    mut trigger: Trigger<F>,
) -> Result<Arc<RegistryStopReport>, RunError> {
    let handle = running.handle();
    let engine = Arc::clone(&handle.engine);
    // A stop requested by anyone (an escalation, a task) ends the wait too.
    tokio::select! {
        () = trigger.next() => handle.request_stop(),
        () = engine.draining.cancelled() => {}
    }
    loop {
        tokio::select! {
            report = engine.stopped() => return outcome(report),
            () = trigger.next() => {
                if handle.is_draining() {
                    tracing::info!("second signal: skipping the drain");
                    engine.request_stop(true);
                } else {
                    tracing::warn!("second signal during the stop: aborting");
                    engine.abort_all("second signal");
                    if let Some(control) = running.control_mut().take() {
                        control.abort();
                    }
                    return Err(RunError::ForcedShutdown);
                }
            }
        }
    }
}
