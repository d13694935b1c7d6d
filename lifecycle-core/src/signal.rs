//! SIGINT/SIGTERM (Ctrl-C elsewhere) and SIGHUP, installed before start-up so no signal is
//! lost.

use crate::RunError;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalKind {
    /// SIGINT or SIGTERM: stop.
    Stop,
    /// SIGHUP: reload (never stops the registry).
    Reload,
}

pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    pub(crate) fn install() -> Result<Self, RunError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).map_err(RunError::Signal)?,
                terminate: signal(SignalKind::terminate()).map_err(RunError::Signal)?,
                hangup: signal(SignalKind::hangup()).map_err(RunError::Signal)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// The next SIGINT, SIGTERM or SIGHUP.
    pub(crate) async fn recv(&mut self) -> SignalKind {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => SignalKind::Stop,
                _ = self.terminate.recv() => SignalKind::Stop,
                _ = self.hangup.recv() => SignalKind::Reload,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            SignalKind::Stop
        }
    }
}
