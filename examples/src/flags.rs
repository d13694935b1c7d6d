//! `FeatureFlags`: flags stored in the database, loaded at start, changed at run time through
//! the API, and published to subscribers through a `watch` channel: a subscriber wakes up
//! when a flag changes, it never polls.

use std::collections::BTreeMap;
use std::sync::Arc;

use lifecycle_core::Service;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::db::{Database, DbError, now_ms};
use crate::input::Bounded;

/// The flag that drives `AutomatedRefresh`.
pub const REFRESH_FLAG: &str = "ff.automated_refresh_v1";

/// One feature flag with the refresh service's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// Its name.
    pub name: String,
    /// On or off.
    pub enabled: bool,
    /// Refresh when enough rows changed, not only on the time threshold.
    pub smart_triggers: bool,
    /// Changed rows that make a view due.
    pub change_threshold: i64,
    /// Age (seconds) that makes a view due.
    pub time_threshold_secs: i64,
    /// Share of views (by a stable hash of their name) the flag applies to, 0–100.
    pub rollout_percentage: u8,
    /// Last change (ms since the epoch).
    pub updated_at_ms: i64,
}

impl Flag {
    /// The default of the refresh flag, written on first run.
    pub fn refresh_default() -> Self {
        Self {
            name: REFRESH_FLAG.to_owned(),
            enabled: true,
            smart_triggers: true,
            change_threshold: 100,
            time_threshold_secs: 15 * 60,
            rollout_percentage: 100,
            updated_at_ms: 0,
        }
    }

    /// Whether `key` is inside the rollout (a stable FNV-1a bucket of 0–99).
    pub fn rolled_out_to(&self, key: &str) -> bool {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        (hash % 100) < u64::from(self.rollout_percentage)
    }
}

/// Bounds of [`Flag::change_threshold`]: 1 to a billion changed rows.
pub type ChangeThreshold = Bounded<1, 1_000_000_000>;
/// Bounds of [`Flag::time_threshold_secs`]: 1 s to a year.
pub type TimeThreshold = Bounded<1, 31_536_000>;
/// Bounds of [`Flag::rollout_percentage`].
pub type Rollout = Bounded<0, 100>;

/// A partial update (`PUT /flags/{name}`); absent fields keep their value. Every field is
/// range-checked while the JSON is parsed: an out-of-range value is rejected (422) before
/// anything is stored or published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagPatch {
    /// New `enabled`.
    pub enabled: Option<bool>,
    /// New `smart_triggers`.
    pub smart_triggers: Option<bool>,
    /// New `change_threshold`.
    pub change_threshold: Option<ChangeThreshold>,
    /// New `time_threshold_secs`.
    pub time_threshold_secs: Option<TimeThreshold>,
    /// New `rollout_percentage`.
    pub rollout_percentage: Option<Rollout>,
}

/// Why a flag could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// No such flag.
    #[error("unknown flag `{0}`")]
    Unknown(String),
    /// Storing it failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl FlagPatch {
    fn apply(&self, flag: &mut Flag) {
        if let Some(v) = self.change_threshold {
            flag.change_threshold = v.get();
        }
        if let Some(v) = self.time_threshold_secs {
            flag.time_threshold_secs = v.get();
        }
        if let Some(v) = self.rollout_percentage {
            flag.rollout_percentage = u8::try_from(v.get()).unwrap_or(100);
        }
        if let Some(v) = self.enabled {
            flag.enabled = v;
        }
        if let Some(v) = self.smart_triggers {
            flag.smart_triggers = v;
        }
    }
}

impl Flag {
    /// Replaces every out-of-range field (a row written by hand or by an older version) by
    /// its default; returns the names of the fields replaced.
    pub fn sanitize(&mut self) -> Vec<&'static str> {
        let d = Self::refresh_default();
        let mut fixed = Vec::new();
        if ChangeThreshold::new(self.change_threshold).is_none() {
            self.change_threshold = d.change_threshold;
            fixed.push("change_threshold");
        }
        if TimeThreshold::new(self.time_threshold_secs).is_none() {
            self.time_threshold_secs = d.time_threshold_secs;
            fixed.push("time_threshold_secs");
        }
        if self.rollout_percentage > 100 {
            self.rollout_percentage = d.rollout_percentage;
            fixed.push("rollout_percentage");
        }
        fixed
    }
}

/// Every flag by name, as published to subscribers.
pub type FlagSet = BTreeMap<String, Flag>;

/// The publishing side of the flags (a `watch` channel; `Default` so the service needs no
/// constructor argument for it).
pub struct FlagChannel(pub(crate) watch::Sender<FlagSet>);

impl Default for FlagChannel {
    fn default() -> Self {
        Self(watch::Sender::new(FlagSet::new()))
    }
}

/// The feature-flag service (the original had `initialize()`/`cleanup()` here, unlike its
/// neighbours' `start()`/`stop()`: now it is one lifecycle like every other service).
#[derive(Service)]
#[service(tasks)]
pub struct FeatureFlags {
    #[depends_on]
    db: Arc<Database>,
    channel: FlagChannel,
}

#[lifecycle_core::tasks]
impl FeatureFlags {
    /// Flags stored in `db`.
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            channel: FlagChannel::default(),
        }
    }

    /// Writes the defaults if missing and loads every flag.
    #[on_start]
    pub async fn load(&self) -> Result<(), DbError> {
        let flags = self
            .db
            .call(|c| {
                let d = Flag::refresh_default();
                c.execute(
                    "INSERT OR IGNORE INTO feature_flags (name, enabled, smart_triggers,
                        change_threshold, time_threshold_secs, rollout_percentage, updated_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        d.name,
                        d.enabled,
                        d.smart_triggers,
                        d.change_threshold,
                        d.time_threshold_secs,
                        d.rollout_percentage,
                        now_ms()
                    ],
                )?;
                load_all(c)
            })
            .await?;
        tracing::info!(flags = flags.len(), "feature flags loaded");
        self.channel.0.send_replace(flags);
        Ok(())
    }

    /// Every flag.
    pub fn all(&self) -> FlagSet {
        self.channel.0.borrow().clone()
    }

    /// One flag.
    pub fn get(&self, name: &str) -> Option<Flag> {
        self.channel.0.borrow().get(name).cloned()
    }

    /// The refresh flag (its default if the table was emptied by hand).
    pub fn refresh_flag(&self) -> Flag {
        self.get(REFRESH_FLAG).unwrap_or_else(Flag::refresh_default)
    }

    /// Changes a flag: stored first, then published to every subscriber.
    pub async fn update(&self, name: &str, patch: FlagPatch) -> Result<Flag, FlagError> {
        let mut flag = self
            .get(name)
            .ok_or_else(|| FlagError::Unknown(name.to_owned()))?;
        patch.apply(&mut flag);
        flag.updated_at_ms = now_ms();
        let stored = flag.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE feature_flags SET enabled = ?2, smart_triggers = ?3,
                        change_threshold = ?4, time_threshold_secs = ?5,
                        rollout_percentage = ?6, updated_at_ms = ?7 WHERE name = ?1",
                    params![
                        stored.name,
                        stored.enabled,
                        stored.smart_triggers,
                        stored.change_threshold,
                        stored.time_threshold_secs,
                        stored.rollout_percentage,
                        stored.updated_at_ms
                    ],
                )?;
                Ok(())
            })
            .await?;
        self.channel.0.send_modify(|set| {
            set.insert(flag.name.clone(), flag.clone());
        });
        tracing::info!(flag = name, enabled = flag.enabled, "flag changed");
        Ok(flag)
    }

    /// Subscribes to changes: `changed().await` wakes on the next update.
    pub fn subscribe(&self) -> watch::Receiver<FlagSet> {
        self.channel.0.subscribe()
    }
}

fn load_all(conn: &Connection) -> Result<FlagSet, DbError> {
    let mut stmt = conn.prepare(
        "SELECT name, enabled, smart_triggers, change_threshold, time_threshold_secs,
                rollout_percentage, updated_at_ms FROM feature_flags",
    )?;
    let rows = stmt.query_map([], |r| {
        // Read as i64 whatever was stored: an out-of-range value is repaired below, never
        // trusted (a stored 2^62 must not overflow the refresh's arithmetic).
        let rollout: i64 = r.get(5)?;
        Ok(Flag {
            name: r.get(0)?,
            enabled: r.get(1)?,
            smart_triggers: r.get(2)?,
            change_threshold: r.get(3)?,
            time_threshold_secs: r.get(4)?,
            rollout_percentage: u8::try_from(rollout).unwrap_or(u8::MAX),
            updated_at_ms: r.get(6)?,
        })
    })?;
    let mut set = FlagSet::new();
    for flag in rows {
        let mut flag = flag?;
        let fixed = flag.sanitize();
        if !fixed.is_empty() {
            tracing::warn!(flag = %flag.name, ?fixed, "stored flag out of range: using defaults");
        }
        set.insert(flag.name.clone(), flag);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_is_stable_and_bounded() {
        let mut f = Flag::refresh_default();
        assert!(f.rolled_out_to("daily_totals") && f.rolled_out_to("monthly_sales"));
        f.rollout_percentage = 0;
        assert!(!f.rolled_out_to("daily_totals"));
        f.rollout_percentage = 50;
        let a = f.rolled_out_to("daily_totals");
        assert_eq!(a, f.rolled_out_to("daily_totals"));
    }

    #[tokio::test]
    async fn updates_are_stored_and_published() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::new(dir.path().join("f.db")).with_seed_days(1));
        db.open().await.unwrap();
        let flags = FeatureFlags::new(Arc::clone(&db));
        flags.load().await.unwrap();
        assert!(flags.refresh_flag().enabled);
        let mut rx = flags.subscribe();
        rx.borrow_and_update();
        let patch = FlagPatch {
            enabled: Some(false),
            change_threshold: ChangeThreshold::new(5),
            ..FlagPatch::default()
        };
        let f = flags.update(REFRESH_FLAG, patch).await.unwrap();
        assert!(!f.enabled);
        assert!(rx.has_changed().unwrap(), "subscriber woken");
        assert_eq!(rx.borrow_and_update()[REFRESH_FLAG].change_threshold, 5);
        // Persisted: a fresh service sees it.
        let again = FeatureFlags::new(Arc::clone(&db));
        again.load().await.unwrap();
        assert!(!again.refresh_flag().enabled);
        assert!(Rollout::new(101).is_none());
        assert!(
            serde_json::from_str::<FlagPatch>(r#"{"time_threshold_secs": 9223372036854775807}"#)
                .is_err()
        );
        // A value stored out of range (by an older version) is repaired at load.
        db.call(|c| {
            Ok(c.execute(
                "UPDATE feature_flags SET time_threshold_secs = 9223372036854775807,
                    change_threshold = -4, rollout_percentage = 900",
                [],
            )?)
        })
        .await
        .unwrap();
        let repaired = FeatureFlags::new(Arc::clone(&db));
        repaired.load().await.unwrap();
        let f = repaired.refresh_flag();
        let d = Flag::refresh_default();
        assert_eq!(
            (
                f.time_threshold_secs,
                f.change_threshold,
                f.rollout_percentage
            ),
            (
                d.time_threshold_secs,
                d.change_threshold,
                d.rollout_percentage
            )
        );
        assert!(matches!(
            flags.update("nope", FlagPatch::default()).await,
            Err(FlagError::Unknown(_))
        ));
    }
}
