//! `Database`: the SQLite store. `Database::new(path)` does no I/O; the file is opened (and
//! created, migrated and seeded on first run) in `on_start` and closed in `on_stop`, which
//! runs last because every other service depends on it, directly or not.
//!
//! Why `rusqlite` (with `bundled`) and not `sqlx`: SQLite is an in-process library, so its
//! calls are synchronous by nature; `rusqlite` exposes exactly that with no extra runtime or
//! compile-time query checking against a live database, builds offline with the SQLite
//! sources bundled, and keeps transactions explicit, which the refresh's "complete or roll
//! back" guarantee relies on. Calls run on tokio's blocking pool: writes through
//! [`Database::call`], reads through [`Database::read`] (read-only WAL connections).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use lifecycle_core::{Health, Service};
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};
use tokio::sync::Semaphore;

/// Database errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file could not be opened or created.
    #[error("cannot open database `{path}`: {source}")]
    Open {
        /// The path tried.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Used before `on_start` or after `on_stop`.
    #[error("the database is not open")]
    Closed,
    /// A statement failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A blocking call panicked or was cancelled by the runtime.
    #[error("database call did not complete: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// The operation was cancelled and its transaction rolled back.
    #[error("cancelled, transaction rolled back")]
    Cancelled,
    /// The schema could not be migrated.
    #[error("cannot migrate the schema: {0}")]
    Migration(#[source] rusqlite_migration::Error),
    /// A value stored in the database could not be decoded.
    #[error("corrupt value in column `{column}`: {reason}")]
    Corrupt {
        /// Which column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The SQLite database. Shared as `Arc<Database>` by every service that depends on it.
///
/// One writer connection ([`Database::call`], serialized: SQLite has one writer anyway) and a
/// small pool of read-only connections ([`Database::read`]). The file is in WAL mode, so a
/// reader sees the last committed state and never waits behind the writer, not even behind
/// a view refresh holding its transaction open.
///
/// No dependencies; it is an `#[instance]` of the registry (built by `Database::new`).
#[derive(Default, Service)]
#[service(tasks)]
pub struct Database {
    pub(crate) path: PathBuf,
    pub(crate) seed_days: u32,
    pub(crate) readers: usize,
    pub(crate) conn: Arc<Mutex<Option<Connection>>>,
    pub(crate) pool: Mutex<Option<Arc<ReaderPool>>>,
}

/// The read-only connections: a connection is taken for one call and put back.
pub(crate) struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection; closed when the database closes.
    permits: Arc<Semaphore>,
    size: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("open", &self.is_open())
            .finish()
    }
}

/// Regions of the sales hierarchy.
pub const REGIONS: [&str; 3] = ["north", "south", "west"];
/// Products of the sales hierarchy.
pub const PRODUCTS: [&str; 3] = ["widget", "gadget", "gizmo"];
/// First day of the seeded history (2023-01-01, as days since 1970-01-01).
pub const SEED_START_DAY: i64 = 19_358;

/// Default number of read-only connections.
pub const DEFAULT_READERS: usize = 4;

/// The schema's migrations, applied in order by `rusqlite_migration` (the version is kept in
/// SQLite's `user_version`). Version 1 is the original schema, written with `IF NOT EXISTS`
/// so that a database created before migrations existed (user_version 0) adopts it.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(SCHEMA_V1), M::up(SCHEMA_V2)])
}

/// Version 2: `mv_monthly_sales.last_day` (forecasts leave out a month the data has not
/// covered yet) and quarantine of rows an older version accepted without validation
/// (`2024-13-45`, `1e308` units): moved to `sales_quarantine`, out of every view.
const SCHEMA_V2: &str = "
ALTER TABLE mv_monthly_sales ADD COLUMN last_day TEXT;
UPDATE view_state SET refreshed_at_ms = NULL WHERE view = 'monthly_sales';
CREATE TABLE sales_quarantine (
    id      INTEGER PRIMARY KEY,
    day     TEXT,
    region  TEXT,
    product TEXT,
    units
);
INSERT INTO sales_quarantine SELECT id, day, region, product, units FROM sales
 WHERE date(day) IS NOT day OR day < '2000-01-01'
    OR typeof(units) NOT IN ('integer', 'real') OR units < 0 OR units > 1000000
    OR region NOT IN ('north', 'south', 'west') OR product NOT IN ('widget', 'gadget', 'gizmo');
DELETE FROM sales WHERE id IN (SELECT id FROM sales_quarantine);
";

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS sales (
    id      INTEGER PRIMARY KEY,
    day     TEXT NOT NULL,
    region  TEXT NOT NULL,
    product TEXT NOT NULL,
    units   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_by_day ON sales(day);
CREATE TABLE IF NOT EXISTS view_state (
    view            TEXT PRIMARY KEY,
    generation      INTEGER NOT NULL DEFAULT 0,
    refreshed_at_ms INTEGER,
    row_count       INTEGER NOT NULL DEFAULT 0,
    pending_changes INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER IF NOT EXISTS sales_changed AFTER INSERT ON sales BEGIN
    UPDATE view_state SET pending_changes = pending_changes + 1;
END;
CREATE TABLE IF NOT EXISTS mv_daily_totals (
    day        TEXT PRIMARY KEY,
    units      REAL NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mv_monthly_sales (
    month      TEXT NOT NULL,
    region     TEXT NOT NULL,
    product    TEXT NOT NULL,
    units      REAL NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (month, region, product)
);
CREATE TABLE IF NOT EXISTS refresh_log (
    id            INTEGER PRIMARY KEY,
    view          TEXT NOT NULL,
    generation    INTEGER NOT NULL,
    started_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    row_count     INTEGER NOT NULL,
    reason        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feature_flags (
    name                TEXT PRIMARY KEY,
    enabled             INTEGER NOT NULL,
    smart_triggers      INTEGER NOT NULL,
    change_threshold    INTEGER NOT NULL,
    time_threshold_secs INTEGER NOT NULL,
    rollout_percentage  INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS scenarios (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    horizon       INTEGER NOT NULL,
    adjustments   TEXT NOT NULL,
    version       INTEGER NOT NULL,
    updated_by    TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
";

#[lifecycle_core::tasks]
impl Database {
    /// A database at `path`. No I/O happens here: the file is opened in `on_start`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            seed_days: 731,
            readers: DEFAULT_READERS,
            conn: Arc::default(),
            pool: Mutex::default(),
        }
    }

    /// How many read-only connections to open (at least 1; default 4).
    #[must_use]
    pub fn with_readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// How many days of sales history to seed into a new database (default 731: 2023 and
    /// 2024, two complete years).
    #[must_use]
    pub fn with_seed_days(mut self, days: u32) -> Self {
        self.seed_days = days;
        self
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the connection is open.
    pub fn is_open(&self) -> bool {
        lock(&self.conn).is_some()
    }

    /// Runs `f` with a read-only connection on tokio's blocking pool. Up to the pool's size
    /// run at once, concurrently with the writer; more wait for a free connection.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let pool = lock(&self.pool).clone().ok_or(DbError::Closed)?;
        let permit = Arc::clone(&pool.permits)
            .acquire_owned()
            .await
            .map_err(|_| DbError::Closed)?;
        // The connection goes back to the pool inside the blocking call, with the permit: a
        // caller that gives up waiting (a request timeout) cannot leak either.
        tokio::task::spawn_blocking(move || {
            let conn = lock(&pool.idle).pop().ok_or(DbError::Closed)?;
            let result = f(&conn);
            lock(&pool.idle).push(conn);
            drop(permit);
            result
        })
        .await?
    }

    /// Runs `f` with the connection on tokio's blocking pool. Calls are serialized: SQLite
    /// has one writer anyway, and `on_stop` waits here for whatever is still in flight.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = lock(&conn);
            let conn = guard.as_mut().ok_or(DbError::Closed)?;
            f(conn)
        })
        .await?
    }

    /// Opens (creating the directory and file if needed), migrates and seeds.
    #[on_start]
    pub async fn open(&self) -> Result<(), DbError> {
        let path = self.path.clone();
        let seed_days = self.seed_days;
        let slot = Arc::clone(&self.conn);
        let readers = self.readers;
        let (seeded, sales, pool) = tokio::task::spawn_blocking(move || {
            let open_err = |source: Box<dyn std::error::Error + Send + Sync>| DbError::Open {
                path: path.clone(),
                source,
            };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| open_err(e.into()))?;
            }
            let mut conn = Connection::open(&path).map_err(|e| open_err(e.into()))?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| open_err(e.into()))?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            migrations()
                .to_latest(&mut conn)
                .map_err(DbError::Migration)?;
            let seeded = seed_if_empty(&mut conn, seed_days)?;
            let sales: i64 = conn.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?;
            let mut idle = Vec::with_capacity(readers);
            for _ in 0..readers {
                let reader = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| open_err(e.into()))?;
                reader.busy_timeout(std::time::Duration::from_secs(5))?;
                idle.push(reader);
            }
            let pool = Arc::new(ReaderPool {
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(readers)),
                size: readers,
            });
            *lock(&slot) = Some(conn);
            Ok::<_, DbError>((seeded, sales, pool))
        })
        .await??;
        *lock(&self.pool) = Some(pool);
        if seeded {
            tracing::info!(path = %self.path.display(), rows = sales, "created and seeded a new database");
        } else {
            tracing::info!(path = %self.path.display(), rows = sales, "opened database");
        }
        Ok(())
    }

    /// Closes the connection after whatever call is in flight (it runs last: every other
    /// service depends on the database and has stopped by then).
    #[on_stop]
    pub async fn close(&self) -> Result<(), DbError> {
        let pool = lock(&self.pool).take();
        if let Some(pool) = pool {
            // Wait for the reads in flight, then refuse new ones.
            let size = u32::try_from(pool.size).unwrap_or(u32::MAX);
            if let Ok(all) = pool.permits.acquire_many(size).await {
                all.forget();
            }
            pool.permits.close();
            lock(&pool.idle).clear();
        }
        let slot = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = lock(&slot).take();
            match conn {
                Some(conn) => conn.close().map_err(|(_, e)| DbError::Sqlite(e)),
                None => Ok(()),
            }
        })
        .await?
    }

    /// A trivial query.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(drop)
    }

    /// Healthy while a trivial query succeeds on a reader. A pool busy with long reads is
    /// healthy too: the check does not queue behind them.
    #[health]
    async fn health(&self) -> Health {
        let Some(pool) = lock(&self.pool).clone() else {
            return Health::unhealthy("the database is not open");
        };
        let Ok(permit) = Arc::clone(&pool.permits).try_acquire_owned() else {
            return Health::Healthy;
        };
        let probe = tokio::task::spawn_blocking(move || {
            let Some(conn) = lock(&pool.idle).pop() else {
                return Health::Healthy;
            };
            let health = conn
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| Health::Healthy)
                .unwrap_or_else(|e| Health::unhealthy(e.to_string()));
            lock(&pool.idle).push(conn);
            drop(permit);
            health
        });
        probe
            .await
            .unwrap_or_else(|e| Health::unhealthy(e.to_string()))
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), proleptic Gregorian.
pub fn date_of(day: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Deterministic synthetic sales: a level per series, a trend, weekly and yearly seasonality
/// and noise from a fixed-seed generator, so every fresh database holds the same history.
fn seed_if_empty(conn: &mut Connection, days: u32) -> Result<bool, DbError> {
    let count: i64 = conn.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?;
    if count > 0 {
        return Ok(false);
    }
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO sales (day, region, product, units) VALUES (?1, ?2, ?3, ?4)")?;
        let mut rng: u64 = 0x5EED_CAFE;
        for t in 0..i64::from(days) {
            let day = date_of(SEED_START_DAY + t);
            let weekday = (SEED_START_DAY + t + 4).rem_euclid(7); // 0 = Sunday
            for (ri, region) in REGIONS.iter().enumerate() {
                for (pi, product) in PRODUCTS.iter().enumerate() {
                    rng = rng
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let noise = ((rng >> 33) as f64 / f64::from(1u32 << 31)) - 0.5;
                    let level = 40.0 + 15.0 * ri as f64 + 10.0 * pi as f64;
                    let trend = (0.01 + 0.01 * pi as f64) * t as f64;
                    let weekly = if weekday == 0 || weekday == 6 {
                        0.8
                    } else {
                        1.05
                    };
                    let yearly =
                        1.0 + 0.15 * (2.0 * std::f64::consts::PI * t as f64 / 365.25).sin();
                    let units = ((level + trend) * weekly * yearly + 6.0 * noise).max(0.0);
                    insert.execute(rusqlite::params![day, region, product, units.round()])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(SEED_START_DAY), "2023-01-01");
        assert_eq!(date_of(SEED_START_DAY + 59), "2023-03-01");
        assert_eq!(date_of(19_782), "2024-02-29");
    }

    #[tokio::test]
    async fn opens_seeds_once_and_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/test.db");
        let db = Database::new(&path).with_seed_days(10);
        assert!(!db.is_open(), "new() does no I/O");
        assert!(matches!(db.ping().await, Err(DbError::Closed)));
        db.open().await.unwrap();
        db.ping().await.unwrap();
        let n: i64 = db
            .call(|c| Ok(c.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 10 * 9);
        db.close().await.unwrap();
        assert!(!db.is_open());
        // Reopen: not seeded again.
        db.open().await.unwrap();
        let n2: i64 = db
            .call(|c| Ok(c.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n2, n);
        db.close().await.unwrap();
    }

    /// A reader does not wait behind the writer: while a write transaction is held open for
    /// 500 ms, reads complete (and see the last committed state).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_do_not_wait_behind_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(Database::new(dir.path().join("rw.db")).with_seed_days(3));
        db.open().await.unwrap();
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let writer = {
            let db = std::sync::Arc::clone(&db);
            tokio::spawn(async move {
                db.call(move |c| {
                    let tx =
                        c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    tx.execute("DELETE FROM sales", [])?;
                    let _ = entered_tx.send(());
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    tx.commit()?;
                    Ok(())
                })
                .await
            })
        };
        entered_rx.await.unwrap();
        let began = std::time::Instant::now();
        for _ in 0..8 {
            let n: i64 = db
                .read(|c| Ok(c.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))?))
                .await
                .unwrap();
            assert_eq!(n, 27, "readers see the last committed state");
        }
        let took = began.elapsed();
        assert!(
            took < std::time::Duration::from_millis(250),
            "reads waited {took:?}"
        );
        writer.await.unwrap().unwrap();
        db.close().await.unwrap();
    }

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    /// A database written by the version before migrations (schema v1, `user_version` 0)
    /// holding rows it accepted without validation: opening it migrates to v2 and moves the
    /// bad rows to `sales_quarantine`; the good ones stay.
    #[tokio::test]
    async fn an_old_database_is_migrated_and_its_bad_rows_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.execute_batch(
                "INSERT INTO sales (day, region, product, units) VALUES
                    ('2024-03-01', 'north', 'widget', 5),
                    ('2024-13-45', 'north', 'widget', 5),
                    ('abcd-ef-gh', 'north', 'widget', 5),
                    ('2024-02-30', 'north', 'widget', 5),
                    ('2024-03-02', 'north', 'widget', 1e308),
                    ('2024-03-02', 'east', 'widget', 1);",
            )
            .unwrap();
        }
        let db = Database::new(&path);
        db.open().await.unwrap();
        let (version, good, quarantined): (i64, i64, i64) = db
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT user_version FROM pragma_user_version),
                            (SELECT count(*) FROM sales),
                            (SELECT count(*) FROM sales_quarantine)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!((version, good, quarantined), (2, 1, 5));
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn unopenable_path_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let db = Database::new(file.join("sub/test.db"));
        let err = db.open().await.unwrap_err();
        assert!(
            err.to_string().starts_with("cannot open database `"),
            "{err}"
        );
        assert!(!db.is_open());
    }
}
