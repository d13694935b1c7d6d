//! `WebSocketHub`: tracks WebSocket sessions, broadcasts platform events to them, pings them
//! from a heartbeat task and drops the ones that stopped answering.
//!
//! axum's upgrade would run each session on a task of its own that nobody tracks. Here the
//! upgrade only hands the socket to the hub, and the hub's `accept_sessions` task spawns the
//! session through its `Shutdown` handle: a tracked child task that the hub's stop waits for
//! (each session sends a close frame when the hub stops) and aborts past `stop_timeout`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use lifecycle_core::{Service, Shutdown};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio::time::Instant;

use crate::config::AppConfig;
use crate::flags::Flag;

/// How often the heartbeat runs (the `every` of its task).
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// A session silent for this long is dropped.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(45);
/// Close code sent at stop: 1001 "going away".
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// What the hub broadcasts, as JSON `{"type": "...", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubEvent {
    /// Sent to a new session first.
    Hello {
        /// Its id.
        session: u64,
    },
    /// A view was refreshed.
    ViewRefreshed {
        /// The view.
        view: String,
        /// Its new generation.
        generation: i64,
        /// Rows written.
        row_count: i64,
        /// Why it ran.
        reason: String,
    },
    /// A feature flag changed.
    FlagChanged {
        /// The flag after the change.
        flag: Flag,
    },
    /// A scenario was created, edited or deleted.
    ScenarioEdited {
        /// Its id.
        id: i64,
        /// Its version after the edit (0 when deleted).
        version: i64,
        /// `created`, `updated` or `deleted`.
        action: String,
        /// Who made the edit.
        by: String,
    },
}

/// Where services publish platform events. The hub provides it in the platform
/// (`#[provide(dyn Broadcaster)]`); a test registry can provide a recording fake instead.
pub trait Broadcaster: Send + Sync + 'static {
    /// Publishes `event` to whoever listens.
    fn broadcast(&self, event: &HubEvent);
}

impl Broadcaster for WebSocketHub {
    fn broadcast(&self, event: &HubEvent) {
        WebSocketHub::broadcast(self, event);
    }
}

/// Per-session control messages from the heartbeat.
#[derive(Debug)]
enum Control {
    Ping,
    Drop,
}

struct SessionInfo {
    control: mpsc::Sender<Control>,
    last_seen: Arc<Mutex<Instant>>,
}

/// The broadcast sender (`Default`, so the service needs no constructor argument for it).
pub struct Events(broadcast::Sender<Arc<str>>);

impl Default for Events {
    fn default() -> Self {
        Self(broadcast::Sender::new(256))
    }
}

/// A reserved session slot: taken before the upgrade, held by the session until it ends.
#[derive(Debug)]
pub struct SessionSlot(#[allow(dead_code)] OwnedSemaphorePermit);

type Handover = (WebSocket, SessionSlot);

/// Sockets handed over by the HTTP upgrade, waiting for `accept_sessions`.
pub struct Pending {
    tx: mpsc::Sender<Handover>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Handover>>,
}

impl Default for Pending {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(64);
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
        }
    }
}

/// Hub counters, as served by `/ws/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HubStats {
    /// Sessions open now.
    pub sessions: usize,
    /// Sessions accepted since start.
    pub accepted: u64,
    /// Sessions dropped by the heartbeat.
    pub dropped_dead: u64,
    /// Upgrades refused because `ws_max_sessions` were open.
    pub refused: u64,
    /// The cap.
    pub max_sessions: usize,
    /// Events broadcast.
    pub broadcasts: u64,
}

/// The WebSocket hub service. Depends only on the configuration (a value): it starts
/// alongside the database. At most `ws_max_sessions` sessions are open at once.
#[derive(Default, Service)]
#[service(tasks)]
pub struct WebSocketHub {
    #[depends_on]
    config: Arc<AppConfig>,
    slots: OnceLock<Arc<Semaphore>>,
    refused: AtomicU64,
    events: Events,
    pending: Pending,
    sessions: Arc<Mutex<HashMap<u64, SessionInfo>>>,
    next_id: AtomicU64,
    accepted: AtomicU64,
    dropped_dead: AtomicU64,
    broadcasts: AtomicU64,
}

#[lifecycle_core::tasks]
impl WebSocketHub {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SessionInfo>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends `event` to every session.
    pub fn broadcast(&self, event: &HubEvent) {
        let json: Arc<str> = match serde_json::to_string(event) {
            Ok(s) => s.into(),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode hub event");
                return;
            }
        };
        self.broadcasts.fetch_add(1, Ordering::Relaxed);
        // No receiver is fine: nobody is connected.
        let _ = self.events.0.send(json);
    }

    fn slots(&self) -> &Arc<Semaphore> {
        self.slots
            .get_or_init(|| Arc::new(Semaphore::new(self.config.ws_max_sessions)))
    }

    /// Reserves a session slot before upgrading; `None` when `ws_max_sessions` are open (the
    /// upgrade is then refused with 503, before any WebSocket buffer is allocated).
    pub fn try_reserve(&self) -> Option<SessionSlot> {
        match Arc::clone(self.slots()).try_acquire_owned() {
            Ok(permit) => Some(SessionSlot(permit)),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Hands an upgraded socket and its slot to the hub. Returns the socket back if the hub
    /// is not accepting.
    pub async fn attach(&self, socket: WebSocket, slot: SessionSlot) -> Result<(), WebSocket> {
        self.pending
            .tx
            .send((socket, slot))
            .await
            .map_err(|e| e.0.0)
    }

    /// Counters.
    pub fn stats(&self) -> HubStats {
        HubStats {
            sessions: self.sessions().len(),
            accepted: self.accepted.load(Ordering::Relaxed),
            dropped_dead: self.dropped_dead.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            max_sessions: self.config.ws_max_sessions,
            broadcasts: self.broadcasts.load(Ordering::Relaxed),
        }
    }

    /// Each handed-over socket becomes a tracked child task of the hub.
    #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
    async fn accept_sessions(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut pending = self.pending.rx.lock().await;
        loop {
            let (socket, slot) = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                socket = pending.recv() => match socket {
                    Some(s) => s,
                    None => return Ok(()),
                },
            };
            let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
            let (control_tx, control_rx) = mpsc::channel(4);
            let last_seen = Arc::new(Mutex::new(Instant::now()));
            self.sessions().insert(
                id,
                SessionInfo {
                    control: control_tx,
                    last_seen: Arc::clone(&last_seen),
                },
            );
            self.accepted.fetch_add(1, Ordering::Relaxed);
            let session = Session {
                id,
                socket,
                _slot: slot,
                events: self.events.0.subscribe(),
                control: control_rx,
                last_seen,
                sessions: Arc::clone(&self.sessions),
            };
            tracing::info!(session = id, "websocket session opened");
            shutdown.spawn(session.run(shutdown.clone()));
        }
    }

    /// Pings every session, drops those silent past the timeout.
    #[background_task(every = "15s")]
    pub async fn heartbeat(&self) {
        let now = Instant::now();
        let mut dead = Vec::new();
        for (id, s) in self.sessions().iter() {
            let last = *s
                .last_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let control = if now.duration_since(last) > HEARTBEAT_TIMEOUT {
                dead.push(*id);
                Control::Drop
            } else {
                Control::Ping
            };
            // A full queue means the session is stuck anyway; skip it this round.
            let _ = s.control.try_send(control);
        }
        if !dead.is_empty() {
            self.dropped_dead
                .fetch_add(dead.len() as u64, Ordering::Relaxed);
            tracing::info!(sessions = ?dead, "dropping websocket sessions that stopped answering");
        }
    }

    /// Runs after every session task ended (each sent a close frame) or was aborted.
    #[on_stop]
    fn forget_sessions(&self) {
        let left = std::mem::take(&mut *self.sessions()).len();
        tracing::info!(left, stats = ?self.stats(), "websocket hub stopped");
    }
}

struct Session {
    id: u64,
    socket: WebSocket,
    _slot: SessionSlot,
    events: broadcast::Receiver<Arc<str>>,
    control: mpsc::Receiver<Control>,
    last_seen: Arc<Mutex<Instant>>,
    sessions: Arc<Mutex<HashMap<u64, SessionInfo>>>,
}

impl Session {
    async fn run(mut self, shutdown: Shutdown) {
        let hello =
            serde_json::to_string(&HubEvent::Hello { session: self.id }).unwrap_or_default();
        let mut close_reason = "client closed";
        if self.socket.send(Message::Text(hello.into())).await.is_ok() {
            close_reason = self.pump(&shutdown).await;
        }
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
        tracing::info!(
            session = self.id,
            reason = close_reason,
            "websocket session closed"
        );
    }

    /// Relays events and control messages until the session ends; returns why it ended.
    async fn pump(&mut self, shutdown: &Shutdown) -> &'static str {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => {
                    let frame = CloseFrame { code: CLOSE_GOING_AWAY, reason: "server shutting down".into() };
                    let _ = self.socket.send(Message::Close(Some(frame))).await;
                    return "server stopping";
                }
                event = self.events.recv() => match event {
                    Ok(json) => {
                        if self.socket.send(Message::Text((&*json).into())).await.is_err() {
                            return "send failed";
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(session = self.id, missed = n, "slow websocket client missed events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return "hub closed",
                },
                control = self.control.recv() => match control {
                    Some(Control::Ping) => {
                        if self.socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                            return "ping failed";
                        }
                    }
                    Some(Control::Drop) => {
                        let _ = self.socket.send(Message::Close(None)).await;
                        return "heartbeat timeout";
                    }
                    None => return "hub closed",
                },
                incoming = self.socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None => return "client closed",
                    Some(Ok(_)) => {
                        // Any frame (pong, text) proves the client is alive.
                        *self.last_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
                    }
                    Some(Err(_)) => return "protocol error",
                },
            }
        }
    }
}
