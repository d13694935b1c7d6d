//! `AutomatedRefresh`: keeps the materialized views fresh.
//!
//! - `check_due` runs every 30 s (a periodic background task: cancelled at once at stop,
//!   where the original slept 30 s in a thread that could not be interrupted);
//! - `react` wakes on every flag change (a `watch` subscription, no polling) and on manual
//!   requests, and checks at once;
//! - smart triggers: a view is due when its change counter reaches the flag's threshold or
//!   its age reaches the time threshold;
//! - a refresh is one transaction. When stop is requested mid-refresh, the refresh gets
//!   `refresh_grace` to commit; past it, it is cancelled and rolled back. Never half-written.

use std::collections::BTreeMap;
use std::sync::Arc;

use lifecycle_core::{Health, Service, Shutdown};
use serde::Serialize;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::config::AppConfig;
use crate::db::{Database, DbError, now_ms};
use crate::flags::{FeatureFlags, Flag};
use crate::hub::{Broadcaster, HubEvent};
use crate::views::{self, Refreshed, ViewDef, ViewState};

/// What the refresh service has done, as served by `/refresh`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshMetrics {
    /// Due-checks run.
    pub checks: u64,
    /// Checks skipped because the flag is off.
    pub skipped_disabled: u64,
    /// Refreshes committed.
    pub refreshes: u64,
    /// Refreshes rolled back because the service stopped.
    pub rolled_back: u64,
    /// Checks that failed (reading the views or refreshing one).
    pub failures: u64,
    /// Failed checks since the last successful one (health is degraded while > 0).
    pub consecutive_failures: u64,
    /// Committed refreshes per view.
    pub per_view: BTreeMap<String, u64>,
    /// The last committed refresh.
    pub last: Option<Refreshed>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// The refresh service. The original was a detached thread sleeping 30 s behind a global
/// getter; here every dependency is a field the registry fills in, checked at compile time.
#[derive(Service)]
#[service(stop_timeout = "5s", tasks)]
pub struct AutomatedRefresh {
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    flags: Arc<FeatureFlags>,
    #[depends_on]
    cache: Arc<Cache>,
    /// The WebSocket hub in the platform; a fake in `tests/refresh_with_fake.rs`.
    #[depends_on]
    events: Arc<dyn Broadcaster>,
    /// A plain value registered with `#[value]`: no lifecycle, same wiring.
    #[depends_on]
    config: Arc<AppConfig>,
    /// The metrics; holding the lock also serializes refreshes. `Default`.
    metrics: Mutex<RefreshMetrics>,
    /// Why the last check failed, if it did: read by the health check without waiting for a
    /// refresh in progress (which holds `metrics`).
    degraded: std::sync::Mutex<Option<String>>,
    /// A copy of `metrics` after each check, readable while a check runs.
    snapshot: std::sync::Mutex<RefreshMetrics>,
    manual: Notify,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a view is due, if it is.
pub fn due_reason(state: &ViewState, flag: &Flag, now_ms: i64) -> Option<&'static str> {
    if !flag.enabled || !flag.rolled_out_to(&state.view) {
        return None;
    }
    let Some(refreshed) = state.refreshed_at_ms else {
        return Some("initial");
    };
    if flag.smart_triggers && state.pending_changes >= flag.change_threshold {
        return Some("changes");
    }
    // Saturating: neither a clock gone backwards nor a huge threshold can overflow.
    if now_ms.saturating_sub(refreshed) >= flag.time_threshold_secs.saturating_mul(1000) {
        return Some("time");
    }
    None
}

#[lifecycle_core::tasks]
impl AutomatedRefresh {
    /// A refresh service over these dependencies.
    pub fn new(
        db: Arc<Database>,
        flags: Arc<FeatureFlags>,
        cache: Arc<Cache>,
        events: Arc<dyn Broadcaster>,
        config: Arc<AppConfig>,
    ) -> Self {
        Self {
            db,
            flags,
            cache,
            events,
            config,
            metrics: Mutex::default(),
            degraded: std::sync::Mutex::default(),
            snapshot: std::sync::Mutex::default(),
            manual: Notify::new(),
        }
    }

    /// Registers the views and builds the ones never built (first run), within
    /// `initial_refresh_budget`. Past the budget the build in progress is rolled back and
    /// start-up goes on: the views are empty, forecasts answer 503, and this service reports
    /// "degraded" until the periodic check (which runs at once) has built them in the
    /// background. So a huge history never fails start-up by timing out.
    #[on_start]
    pub async fn warm_up(&self) -> Result<(), DbError> {
        let states = self
            .db
            .call(|c| {
                views::ensure_registered(c)?;
                views::states(c)
            })
            .await?;
        let never: Vec<_> = states
            .iter()
            .filter(|s| s.generation == 0 || s.refreshed_at_ms.is_none())
            .collect();
        let mut metrics = self.metrics.lock().await;
        let budget = self.config.initial_refresh_budget;
        let deadline = tokio::time::Instant::now() + budget;
        for s in never {
            let Some(def) = views::view(&s.view) else {
                continue;
            };
            let cancel = CancellationToken::new();
            let _abort_guard = cancel.clone().drop_guard();
            let build = self.run_refresh(def, "initial", &cancel);
            tokio::pin!(build);
            let built = tokio::select! {
                result = &mut build => result,
                () = tokio::time::sleep_until(deadline) => {
                    cancel.cancel();
                    build.await
                }
            };
            match built {
                Ok(refreshed) => self.record(&mut metrics, refreshed),
                Err(DbError::Cancelled) => {
                    tracing::warn!(
                        ?budget,
                        view = def.name,
                        "first build of the views exceeds its start-up budget: continuing in the background"
                    );
                    *lock(&self.degraded) = Some(format!(
                        "view {} not built yet (first build exceeded {budget:?}; building in the background)",
                        def.name
                    ));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Asks `react` to refresh every view now, whatever the triggers say.
    pub fn request_refresh(&self) {
        self.manual.notify_one();
    }

    /// Whether a due-check (and so possibly a refresh) is running right now.
    pub fn is_checking(&self) -> bool {
        self.metrics.try_lock().is_err()
    }

    /// Counters of the last completed check, without waiting for one in progress (the
    /// refresh holds the metrics while it runs).
    pub fn metrics_snapshot(&self) -> RefreshMetrics {
        lock(&self.snapshot).clone()
    }

    /// A snapshot of the metrics.
    pub async fn metrics(&self) -> RefreshMetrics {
        self.metrics.lock().await.clone()
    }

    /// The periodic check. Sleeping between runs costs nothing at stop: the interval is
    /// cancelled at once. A failed run delays the next one by the backoff (1 s, doubling up
    /// to 60 s) instead of the original's fixed 60 s sleep.
    #[background_task(every = "30s", backoff = "1s", max_backoff = "60s")]
    async fn check_due(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        self.check(&shutdown, false).await
    }

    /// Flag changes and manual requests trigger a check at once. Supervised: restarted on
    /// failure, at most 5 times a minute, then the service fails and the registry stops.
    #[background_task(restart = "on_failure", max_restarts = 5, within = "60s")]
    async fn react(&self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut flags = self.flags.subscribe();
        flags.borrow_and_update();
        loop {
            let force = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                changed = flags.changed() => {
                    changed?;
                    flags.borrow_and_update();
                    false
                }
                () = self.manual.notified() => true,
            };
            self.check(&shutdown, force).await?;
        }
    }

    /// One due-check: refreshes every view that is due (all of them when `force`, as long as
    /// the flag is on). A refresh interrupted by stop is rolled back, which is not an error.
    pub async fn check(&self, shutdown: &Shutdown, force: bool) -> anyhow::Result<()> {
        let mut metrics = self.metrics.lock().await;
        metrics.checks += 1;
        let result = self.check_locked(&mut metrics, shutdown, force).await;
        let failure = match &result {
            Ok(()) => {
                metrics.consecutive_failures = 0;
                None
            }
            Err(e) => {
                metrics.failures += 1;
                metrics.consecutive_failures += 1;
                metrics.last_error = Some(e.to_string());
                metrics.last_error.clone()
            }
        };
        *lock(&self.degraded) = failure;
        *lock(&self.snapshot) = metrics.clone();
        result.map_err(Into::into)
    }

    async fn check_locked(
        &self,
        metrics: &mut RefreshMetrics,
        shutdown: &Shutdown,
        force: bool,
    ) -> Result<(), DbError> {
        let flag = self.flags.refresh_flag();
        if !flag.enabled {
            metrics.skipped_disabled += 1;
            tracing::debug!("automated refresh disabled by flag");
            return Ok(());
        }
        let states = self.db.call(|c| views::states(c)).await?;
        let now = now_ms();
        for state in states {
            let reason = if force {
                Some("manual")
            } else {
                due_reason(&state, &flag, now)
            };
            let (Some(reason), Some(def)) = (reason, views::view(&state.view)) else {
                continue;
            };
            match self.refresh_during(def, reason, shutdown).await {
                Ok(refreshed) => self.record(metrics, refreshed),
                Err(DbError::Cancelled) => {
                    metrics.rolled_back += 1;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            if shutdown.is_cancelled() {
                break;
            }
        }
        Ok(())
    }

    fn record(&self, metrics: &mut RefreshMetrics, refreshed: Refreshed) {
        metrics.refreshes += 1;
        *metrics.per_view.entry(refreshed.view.clone()).or_default() += 1;
        self.cache.invalidate_all();
        self.events.broadcast(&HubEvent::ViewRefreshed {
            view: refreshed.view.clone(),
            generation: refreshed.generation,
            row_count: refreshed.row_count,
            reason: refreshed.reason.clone(),
        });
        tracing::info!(
            view = %refreshed.view,
            generation = refreshed.generation,
            rows = refreshed.row_count,
            took_ms = refreshed.took_ms,
            reason = %refreshed.reason,
            "view refreshed"
        );
        metrics.last = Some(refreshed);
    }

    /// Runs one refresh; if the service starts stopping meanwhile, gives it `refresh_grace`
    /// to commit, then cancels it (rolled back).
    async fn refresh_during(
        &self,
        def: &'static ViewDef,
        reason: &'static str,
        shutdown: &Shutdown,
    ) -> Result<Refreshed, DbError> {
        let cancel = CancellationToken::new();
        // If this task is aborted (stop_timeout passed), dropping the guard cancels the
        // blocking refresh, which then rolls back.
        let _abort_guard = cancel.clone().drop_guard();
        let refresh = self.run_refresh(def, reason, &cancel);
        tokio::pin!(refresh);
        tokio::select! {
            biased;
            result = &mut refresh => result,
            () = shutdown.cancelled() => {
                let grace = self.config.refresh_grace;
                tracing::info!(view = def.name, ?grace, "stop requested during a refresh: letting it finish");
                match tokio::time::timeout(grace, &mut refresh).await {
                    Ok(result) => result,
                    Err(_) => {
                        cancel.cancel();
                        refresh.await
                    }
                }
            }
        }
    }

    async fn run_refresh(
        &self,
        def: &'static ViewDef,
        reason: &'static str,
        cancel: &CancellationToken,
    ) -> Result<Refreshed, DbError> {
        let cancel = cancel.clone();
        let throttle = self.config.refresh_throttle;
        self.db
            .call(move |c| views::refresh(c, def, reason, &cancel, throttle))
            .await
    }

    /// Degraded while the last check failed (still ready: the views hold the last good
    /// generation).
    #[health]
    pub fn health(&self) -> Health {
        let degraded = self
            .degraded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*degraded {
            Some(e) => Health::degraded(format!("last refresh check failed: {e}")),
            None => Health::Healthy,
        }
    }

    /// Logs the totals.
    #[on_stop]
    async fn flush(&self) {
        let m = self.metrics.lock().await;
        tracing::info!(
            checks = m.checks,
            refreshes = m.refreshes,
            rolled_back = m.rolled_back,
            failures = m.failures,
            "refresh metrics at stop"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(refreshed: Option<i64>, pending: i64) -> ViewState {
        ViewState {
            view: "daily_totals".into(),
            generation: 1,
            refreshed_at_ms: refreshed,
            row_count: 10,
            pending_changes: pending,
        }
    }

    #[test]
    fn smart_triggers_and_time_threshold() {
        let mut flag = Flag::refresh_default();
        flag.change_threshold = 10;
        flag.time_threshold_secs = 60;
        let now = 1_000_000;
        assert_eq!(due_reason(&state(None, 0), &flag, now), Some("initial"));
        assert_eq!(due_reason(&state(Some(now), 9), &flag, now), None);
        assert_eq!(
            due_reason(&state(Some(now), 10), &flag, now),
            Some("changes")
        );
        assert_eq!(
            due_reason(&state(Some(now - 60_000), 0), &flag, now),
            Some("time")
        );
        flag.smart_triggers = false;
        assert_eq!(due_reason(&state(Some(now), 1000), &flag, now), None);
        // Extreme values (a stored flag from an older version, a clock gone backwards) neither
        // overflow nor panic.
        flag.time_threshold_secs = i64::MAX;
        assert_eq!(
            due_reason(&state(Some(i64::MIN), 0), &flag, i64::MAX),
            Some("time")
        );
        assert_eq!(due_reason(&state(Some(i64::MAX), 0), &flag, i64::MIN), None);
        flag.enabled = false;
        assert_eq!(due_reason(&state(None, 0), &flag, now), None);
        flag.enabled = true;
        flag.rollout_percentage = 0;
        assert_eq!(due_reason(&state(None, 0), &flag, now), None);
    }
}
