//! The "materialized views": aggregate tables rebuilt from the raw `sales` table. A refresh
//! is one SQLite transaction: it either commits whole (rows, new generation, log entry) or
//! is rolled back, so readers never see a half-written view.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::db::{DbError, now_ms};
use crate::input::{Day, Product, Region, Units, format_day, format_month, next_month, parse_day};

/// A view: its name, its table and the query that fills it, one month at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewDef {
    /// Public name (`/views/{name}`).
    pub name: &'static str,
    table: &'static str,
    /// `INSERT … SELECT` for one month: `?1` = `YYYY-MM`, `?2`..`?3` = the month's first day
    /// and the next month's (a range on the `sales_by_day` index, so each month reads only
    /// its own rows and a whole refresh is one pass over the history), `?4` = generation.
    fill_month: &'static str,
}

/// Every view the platform maintains.
pub const VIEWS: [ViewDef; 2] = [
    ViewDef {
        name: "daily_totals",
        table: "mv_daily_totals",
        fill_month: "INSERT INTO mv_daily_totals (day, units, generation)
                     SELECT day, sum(units), ?4 FROM sales
                     WHERE day >= ?2 AND day < ?3 GROUP BY day",
    },
    ViewDef {
        name: "monthly_sales",
        table: "mv_monthly_sales",
        fill_month: "INSERT INTO mv_monthly_sales
                         (month, region, product, units, last_day, generation)
                     SELECT ?1, region, product, sum(units), max(day), ?4 FROM sales
                     WHERE day >= ?2 AND day < ?3 GROUP BY region, product",
    },
];

/// Looks a view up by name.
pub fn view(name: &str) -> Option<&'static ViewDef> {
    VIEWS.iter().find(|v| v.name == name)
}

/// A view's bookkeeping row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewState {
    /// Its name.
    pub view: String,
    /// Incremented by every committed refresh; 0 = never refreshed.
    pub generation: i64,
    /// When it was last refreshed (ms since the epoch).
    pub refreshed_at_ms: Option<i64>,
    /// Rows written by the last refresh.
    pub row_count: i64,
    /// Sales rows inserted since (counted by a trigger): the smart trigger's input.
    pub pending_changes: i64,
}

/// Creates the bookkeeping rows (idempotent).
pub fn ensure_registered(conn: &Connection) -> Result<(), DbError> {
    for v in VIEWS {
        conn.execute(
            "INSERT OR IGNORE INTO view_state (view) VALUES (?1)",
            [v.name],
        )?;
    }
    Ok(())
}

/// The state of every view.
pub fn states(conn: &Connection) -> Result<Vec<ViewState>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT view, generation, refreshed_at_ms, row_count, pending_changes
         FROM view_state ORDER BY view",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ViewState {
            view: r.get(0)?,
            generation: r.get(1)?,
            refreshed_at_ms: r.get(2)?,
            row_count: r.get(3)?,
            pending_changes: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What a committed refresh did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refreshed {
    /// The view.
    pub view: String,
    /// Its new generation.
    pub generation: i64,
    /// Rows written.
    pub row_count: i64,
    /// How long it took, in ms.
    pub took_ms: u64,
    /// Why it ran (`time`, `changes`, `manual`, `initial`, `flag`).
    pub reason: String,
}

/// Rebuilds one view in a single immediate transaction, a month per step. Between steps it
/// checks `cancel`: when set, it returns [`DbError::Cancelled`] and the transaction is rolled
/// back (dropped), leaving the previous generation intact. `throttle` pauses between steps.
pub fn refresh(
    conn: &mut Connection,
    def: &ViewDef,
    reason: &str,
    cancel: &CancellationToken,
    throttle: Duration,
) -> Result<Refreshed, DbError> {
    let started = std::time::Instant::now();
    let started_ms = now_ms();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let generation: i64 = tx.query_row(
        "SELECT generation FROM view_state WHERE view = ?1",
        [def.name],
        |r| r.get(0),
    )?;
    let generation = generation + 1;
    tx.execute(&format!("DELETE FROM {}", def.table), [])?;
    // First and last day on the index (two lookups, not a scan).
    let (first, last): (Option<String>, Option<String>) =
        tx.query_row("SELECT min(day), max(day) FROM sales", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let months = month_range(first.as_deref(), last.as_deref());
    {
        let mut fill = tx.prepare(def.fill_month)?;
        for (label, start, end) in &months {
            if cancel.is_cancelled() {
                tracing::warn!(view = def.name, "refresh cancelled: rolling back");
                return Err(DbError::Cancelled); // `tx` dropped: rollback
            }
            fill.execute(params![label, start, end, generation])?;
            if !throttle.is_zero() {
                std::thread::sleep(throttle);
            }
        }
    }
    if cancel.is_cancelled() {
        tracing::warn!(view = def.name, "refresh cancelled: rolling back");
        return Err(DbError::Cancelled);
    }
    let row_count: i64 = tx.query_row(&format!("SELECT count(*) FROM {}", def.table), [], |r| {
        r.get(0)
    })?;
    let finished_ms = now_ms();
    tx.execute(
        "UPDATE view_state SET generation = ?2, refreshed_at_ms = ?3, row_count = ?4,
             pending_changes = 0 WHERE view = ?1",
        params![def.name, generation, finished_ms, row_count],
    )?;
    tx.execute(
        "INSERT INTO refresh_log (view, generation, started_at_ms, finished_at_ms, row_count, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![def.name, generation, started_ms, finished_ms, row_count, reason],
    )?;
    tx.commit()?;
    Ok(Refreshed {
        view: def.name.to_owned(),
        generation,
        row_count,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        reason: reason.to_owned(),
    })
}

/// Every month from `first`'s to `last`'s (stored `YYYY-MM-DD`), as
/// `(YYYY-MM, first day, first day of the next month)`. Empty if either is missing or not a
/// date (input is validated, and rows an older version accepted were quarantined by
/// migration 2, so that does not happen in practice).
fn month_range(first: Option<&str>, last: Option<&str>) -> Vec<(String, String, String)> {
    let (Some(first), Some(last)) = (first.and_then(parse_day), last.and_then(parse_day)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut month = first.replace_day(1).unwrap_or(first);
    while month <= last {
        let Some(next) = next_month(month) else { break };
        out.push((format_month(month), format_day(month), format_day(next)));
        month = next;
    }
    out
}

/// One row of `daily_totals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyTotal {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Units sold that day, all regions and products.
    pub units: f64,
}

/// `daily_totals` between two days (inclusive): the last `limit` rows of the range after
/// skipping the `offset` latest, in date order.
pub fn daily_totals(
    conn: &Connection,
    from: Option<Day>,
    to: Option<Day>,
    limit: i64,
    offset: i64,
) -> Result<Vec<DailyTotal>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT day, units FROM (
             SELECT day, units FROM mv_daily_totals
             WHERE day >= coalesce(?1, '') AND day <= coalesce(?2, '9999')
             ORDER BY day DESC LIMIT ?3 OFFSET ?4)
         ORDER BY day",
    )?;
    let (from, to) = (from.map(|d| d.to_string()), to.map(|d| d.to_string()));
    let rows = stmt.query_map(params![from, to, limit, offset], |r| {
        Ok(DailyTotal {
            day: r.get(0)?,
            units: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One row of `monthly_sales`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlySales {
    /// `YYYY-MM`.
    pub month: String,
    /// Region.
    pub region: String,
    /// Product.
    pub product: String,
    /// Units sold.
    pub units: f64,
    /// The last day with sales in that month for this series (`YYYY-MM-DD`; `None` in rows
    /// written before migration 2).
    pub last_day: Option<String>,
}

/// `monthly_sales`, optionally filtered, one page (`limit` rows after `offset`).
pub fn monthly_sales(
    conn: &Connection,
    region: Option<Region>,
    product: Option<Product>,
    limit: i64,
    offset: i64,
) -> Result<Vec<MonthlySales>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT month, region, product, units, last_day FROM mv_monthly_sales
         WHERE (?1 IS NULL OR region = ?1) AND (?2 IS NULL OR product = ?2)
         ORDER BY month, region, product LIMIT ?3 OFFSET ?4",
    )?;
    let (region, product) = (region.map(Region::as_str), product.map(Product::as_str));
    let rows = stmt.query_map(params![region, product, limit, offset], |r| {
        Ok(MonthlySales {
            month: r.get(0)?,
            region: r.get(1)?,
            product: r.get(2)?,
            units: r.get(3)?,
            last_day: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every row of `monthly_sales` (for the forecasts: at most 9 leaves × the months since
/// 2000, bounded by input validation).
pub fn all_monthly_sales(conn: &Connection) -> Result<Vec<MonthlySales>, DbError> {
    monthly_sales(conn, None, None, i64::MAX, 0)
}

/// Checks that no view is half-written: every row of a view carries its current generation,
/// the row count matches the bookkeeping, and the last log entry is that generation.
/// Returns a description of each inconsistency (empty = consistent).
pub fn consistency_problems(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut problems = Vec::new();
    for s in states(conn)? {
        let def = view(&s.view).ok_or(DbError::Corrupt {
            column: "view_state.view",
            reason: format!("unknown view {}", s.view),
        })?;
        let (rows, off_generation): (i64, i64) = conn.query_row(
            &format!(
                "SELECT count(*), coalesce(sum(generation != ?1), 0) FROM {}",
                def.table
            ),
            [s.generation],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if rows != s.row_count {
            problems.push(format!(
                "{}: {rows} rows but bookkeeping says {}",
                s.view, s.row_count
            ));
        }
        if off_generation != 0 {
            problems.push(format!(
                "{}: {off_generation} rows not of generation {}",
                s.view, s.generation
            ));
        }
        let logged: Option<i64> = conn
            .query_row(
                "SELECT max(generation) FROM refresh_log WHERE view = ?1",
                [&s.view],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if logged.unwrap_or(0) != s.generation {
            problems.push(format!(
                "{}: generation {} but last logged refresh is {logged:?}",
                s.view, s.generation
            ));
        }
    }
    Ok(problems)
}

/// Inserts sales rows (the API's `POST /sales`); the trigger counts them as pending changes.
pub fn insert_sales(conn: &mut Connection, rows: &[NewSale]) -> Result<usize, DbError> {
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO sales (day, region, product, units) VALUES (?1, ?2, ?3, ?4)")?;
        for r in rows {
            insert.execute(params![
                r.day.to_string(),
                r.region.as_str(),
                r.product.as_str(),
                r.units.get()
            ])?;
        }
    }
    tx.commit()?;
    Ok(rows.len())
}

/// A sales row to insert: every field checked by its type while the JSON is parsed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewSale {
    /// A real date, 2000-01-01 to tomorrow.
    pub day: Day,
    /// Region.
    pub region: Region,
    /// Product.
    pub product: Product,
    /// Units sold, 0–1 000 000.
    pub units: Units,
}

/// The most rows one `POST /sales` may carry.
pub const MAX_SALES_PER_REQUEST: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Database;

    async fn open(days: u32) -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::new(dir.path().join("v.db")).with_seed_days(days);
        db.open().await.unwrap();
        db.call(|c| ensure_registered(c)).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn refresh_commits_a_consistent_generation() {
        let (_dir, db) = open(62).await;
        let out = db
            .call(|c| {
                refresh(
                    c,
                    &VIEWS[0],
                    "manual",
                    &CancellationToken::new(),
                    Duration::ZERO,
                )
            })
            .await
            .unwrap();
        assert_eq!((out.generation, out.row_count), (1, 62));
        let days = db
            .read(|c| {
                let day = |s| Day::parse(s).ok();
                daily_totals(c, day("2023-02-01"), day("2023-02-03"), 100, 0)
            })
            .await
            .unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].day, "2023-02-01");
        let problems = db.call(|c| consistency_problems(c)).await.unwrap();
        // monthly_sales never refreshed: generation 0, no rows, nothing logged: consistent.
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[tokio::test]
    async fn cancelled_refresh_rolls_back_to_the_previous_generation() {
        let (_dir, db) = open(62).await;
        let first = db
            .call(|c| {
                refresh(
                    c,
                    &VIEWS[1],
                    "initial",
                    &CancellationToken::new(),
                    Duration::ZERO,
                )
            })
            .await
            .unwrap();
        db.call(|c| {
            insert_sales(
                c,
                &[serde_json::from_value(serde_json::json!({
                    "day": "2023-03-05", "region": "north", "product": "widget", "units": 5.0
                }))
                .unwrap()],
            )
        })
        .await
        .unwrap();
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let refreshing =
            db.call(move |c| refresh(c, &VIEWS[1], "manual", &c2, Duration::from_millis(20)));
        let canceller = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            cancel.cancel();
        };
        let (result, ()) = tokio::join!(refreshing, canceller);
        assert!(matches!(result, Err(DbError::Cancelled)), "{result:?}");
        let states = db.call(|c| states(c)).await.unwrap();
        let monthly = states.iter().find(|s| s.view == "monthly_sales").unwrap();
        assert_eq!(monthly.generation, first.generation);
        assert_eq!(monthly.pending_changes, 1, "the rollback kept the counter");
        assert!(
            db.call(|c| consistency_problems(c))
                .await
                .unwrap()
                .is_empty()
        );
        let rows = db
            .read(|c| monthly_sales(c, Some(Region::North), Some(Product::Widget), 100, 0))
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
    }
}
