//! `Forecasts`: per-node forecasts over the region × product hierarchy. Leaves are modelled
//! with Holt's linear trend on the `monthly_sales` view and reconciled bottom-up. Fitted
//! models live in a model cache keyed by the view's generation (a refresh makes them stale);
//! the cache is cleared at stop.

pub mod hierarchy;
pub mod holt;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lifecycle_core::Service;
use serde::Serialize;

use time::{Date, OffsetDateTime};

use crate::db::{Database, DbError};
use crate::input::{format_month, next_month, parse_day, parse_month};
use crate::views;
pub use hierarchy::Node;
pub use holt::Holt;

/// Why a forecast could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// Not a node of the hierarchy.
    #[error("unknown node `{0}`: use total, a region (north, south, west) or region/product")]
    UnknownNode(String),
    /// The horizon is out of range.
    #[error("horizon must be 1–24 months, not {0}")]
    Horizon(usize),
    /// The `monthly_sales` view has not been refreshed yet.
    #[error("the monthly_sales view has not been built yet")]
    NoData,
    /// Reading the view failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One month of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// `YYYY-MM`.
    pub month: String,
    /// Units.
    pub units: f64,
}

/// A node's forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeForecast {
    /// The node (`total`, `north`, `north/widget`).
    pub node: String,
    /// `total`, `region` or `leaf`.
    pub level: &'static str,
    /// Generation of the view it was computed from.
    pub generation: i64,
    /// The last 12 months of history.
    pub history: Vec<Point>,
    /// Bottom-up reconciled forecast: the sum of its leaves' forecasts.
    pub reconciled: Vec<Point>,
    /// The node's own (base) Holt forecast, before reconciliation.
    pub base: Vec<Point>,
    /// The node's own model.
    pub model: Holt,
    /// Months with sales left out of the fit because they are not complete yet.
    pub incomplete_months: Vec<String>,
    /// Its children's keys.
    pub children: Vec<String>,
}

/// The fitted-model cache (the original's `ProphetModelCache`).
#[derive(Default)]
pub struct ModelCache {
    models: Mutex<HashMap<String, (i64, Holt)>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ModelCache {
    fn get_or_fit(&self, key: &str, generation: i64, series: &[f64]) -> Option<Holt> {
        let mut models = self
            .models
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, m)) = models.get(key).filter(|(g, _)| *g == generation) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(*m);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let model = Holt::fit(series)?;
        models.insert(key.to_owned(), (generation, model));
        Some(model)
    }

    /// Drops every model; returns how many.
    pub fn clear(&self) -> usize {
        let mut models = self
            .models
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = models.len();
        models.clear();
        n
    }

    /// `(models, hits, misses)`.
    pub fn stats(&self) -> (usize, u64, u64) {
        let n = self
            .models
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        (
            n,
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// Leaf histories read from the view: complete months only, without gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The view generation.
    pub generation: i64,
    /// Months, ascending and contiguous (`YYYY-MM`): from the first month with sales to the
    /// last complete one.
    pub months: Vec<String>,
    /// Each leaf's series over `months` (0 for a month without sales).
    pub leaves: BTreeMap<Node, Vec<f64>>,
    /// Months with sales left out because they are not complete yet (the current month, or
    /// one the data has not covered to its end).
    pub incomplete: Vec<String>,
}

impl History {
    /// Builds the history from the view's rows. A month counts once it is over and the
    /// data reaches its last day (`last_day` of the latest row ≥ the month's last day):
    /// fitting a month with a few days of sales as if it were complete drags every forecast
    /// down. Months without any sales between the first and the last are filled with 0.
    /// `today` is the UTC date (a parameter so tests are deterministic).
    pub fn from_rows(
        generation: i64,
        rows: &[views::MonthlySales],
        today: Date,
    ) -> Result<Self, ForecastError> {
        // The last day the data covers: rows from before migration 2 have no `last_day` and
        // count as covering their whole month.
        let covered = rows
            .iter()
            .filter_map(|r| {
                let month = parse_month(&r.month)?;
                let end = next_month(month)?.previous_day()?;
                Some(r.last_day.as_deref().and_then(parse_day).unwrap_or(end))
            })
            .max()
            .ok_or(ForecastError::NoData)?;
        let cutoff = covered.min(today.previous_day().unwrap_or(today));
        let months_with_sales: Vec<Date> = {
            let mut m: Vec<Date> = rows.iter().filter_map(|r| parse_month(&r.month)).collect();
            m.sort_unstable();
            m.dedup();
            m
        };
        let first = *months_with_sales.first().ok_or(ForecastError::NoData)?;
        let is_complete = |m: Date| {
            next_month(m)
                .and_then(Date::previous_day)
                .is_some_and(|end| end <= cutoff)
        };
        let mut months = Vec::new();
        let mut month = first;
        while is_complete(month) {
            months.push(month);
            match next_month(month) {
                Some(next) => month = next,
                None => break,
            }
        }
        let incomplete = months_with_sales
            .iter()
            .filter(|m| !is_complete(**m))
            .map(|m| format_month(*m))
            .collect();
        let labels: Vec<String> = months.iter().map(|m| format_month(*m)).collect();
        let index: HashMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        let mut leaves: BTreeMap<Node, Vec<f64>> = Node::leaves()
            .into_iter()
            .map(|l| (l, vec![0.0; labels.len()]))
            .collect();
        for r in rows {
            let leaf = Node::Leaf {
                region: r.region.clone(),
                product: r.product.clone(),
            };
            if let (Some(series), Some(&i)) = (leaves.get_mut(&leaf), index.get(r.month.as_str())) {
                series[i] = r.units;
            }
        }
        if labels.is_empty() {
            return Err(ForecastError::NoData);
        }
        Ok(Self {
            generation,
            months: labels,
            leaves,
            incomplete,
        })
    }

    /// Month labels for `horizon` months after the last one.
    pub fn future_months(&self, horizon: usize) -> Vec<String> {
        let mut month = self.months.last().and_then(|m| parse_month(m));
        (0..horizon)
            .map_while(|_| {
                month = month.and_then(next_month);
                month.map(format_month)
            })
            .collect()
    }
}

/// The forecasting service (the original's `HierarchicalForecastManager`, which had a
/// cleanup but no initialization). Its only hook clears the model cache at stop.
#[derive(Service)]
#[service(tasks)]
pub struct Forecasts {
    #[depends_on]
    db: Arc<Database>,
    models: ModelCache,
}

fn points(months: &[String], values: &[f64]) -> Vec<Point> {
    months
        .iter()
        .zip(values)
        .map(|(m, v)| Point {
            month: m.clone(),
            units: (v * 10.0).round() / 10.0,
        })
        .collect()
}

#[lifecycle_core::tasks]
impl Forecasts {
    /// Forecasts from the views in `db`.
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            models: ModelCache::default(),
        }
    }

    #[on_stop]
    fn clear_models(&self) {
        let n = self.models.clear();
        tracing::info!(models = n, "model cache cleared");
    }

    /// The model cache.
    pub fn models(&self) -> &ModelCache {
        &self.models
    }

    /// Reads the leaf histories from the `monthly_sales` view (see [`History::from_rows`]).
    pub async fn history(&self) -> Result<History, ForecastError> {
        let (generation, rows) = self
            .db
            .read(|c| {
                let generation = views::states(c)?
                    .into_iter()
                    .find(|s| s.view == "monthly_sales")
                    .map_or(0, |s| s.generation);
                Ok((generation, views::all_monthly_sales(c)?))
            })
            .await?;
        if generation == 0 || rows.is_empty() {
            return Err(ForecastError::NoData);
        }
        History::from_rows(generation, &rows, OffsetDateTime::now_utc().date())
    }

    /// Every leaf's forecast over `horizon` months, from cached or freshly fitted models.
    pub fn leaf_forecasts(&self, history: &History, horizon: usize) -> BTreeMap<Node, Vec<f64>> {
        history
            .leaves
            .iter()
            .map(|(leaf, series)| {
                let forecast = self
                    .models
                    .get_or_fit(&leaf.key(), history.generation, series)
                    .map_or_else(|| vec![0.0; horizon], |m| m.forecast(horizon));
                (leaf.clone(), forecast)
            })
            .collect()
    }

    /// The forecast of one node (`total`, `north`, `north/widget`) over `horizon` months.
    pub async fn forecast(
        &self,
        node: &str,
        horizon: usize,
    ) -> Result<NodeForecast, ForecastError> {
        let parsed =
            Node::parse(node).ok_or_else(|| ForecastError::UnknownNode(node.to_owned()))?;
        if !(1..=24).contains(&horizon) {
            return Err(ForecastError::Horizon(horizon));
        }
        let history = self.history().await?;
        let leaf_forecasts = self.leaf_forecasts(&history, horizon);
        let own_history = hierarchy::sum_up(&parsed, &history.leaves);
        let model = self
            .models
            .get_or_fit(&parsed.key(), history.generation, &own_history)
            .ok_or(ForecastError::NoData)?;
        let future = history.future_months(horizon);
        let tail = own_history.len().saturating_sub(12);
        Ok(NodeForecast {
            node: parsed.key(),
            level: parsed.level(),
            generation: history.generation,
            history: points(&history.months[tail..], &own_history[tail..]),
            reconciled: points(&future, &hierarchy::sum_up(&parsed, &leaf_forecasts)),
            base: points(&future, &model.forecast(horizon)),
            model,
            incomplete_months: history.incomplete.clone(),
            children: parsed.children().iter().map(Node::key).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use tokio_util::sync::CancellationToken;

    fn row(
        month: &str,
        region: &str,
        product: &str,
        units: f64,
        last_day: &str,
    ) -> views::MonthlySales {
        views::MonthlySales {
            month: month.into(),
            region: region.into(),
            product: product.into(),
            units,
            last_day: Some(last_day.into()),
        }
    }

    /// Hand-computed: January and March have sales, February none (filled with 0), April
    /// only up to the 3rd (incomplete, left out); the future starts in April.
    #[test]
    fn history_fills_gaps_and_leaves_out_the_incomplete_month() {
        let rows = [
            row("2024-01", "north", "widget", 10.0, "2024-01-31"),
            row("2024-01", "west", "gizmo", 5.0, "2024-01-20"),
            row("2024-03", "north", "widget", 30.0, "2024-03-30"),
            row("2024-04", "north", "widget", 2.0, "2024-04-03"),
        ];
        let h = History::from_rows(3, &rows, date!(2026 - 01 - 01)).unwrap();
        assert_eq!(h.months, ["2024-01", "2024-02", "2024-03"]);
        assert_eq!(h.incomplete, ["2024-04"]);
        let leaf = |r: &str, p: &str| {
            h.leaves[&Node::Leaf {
                region: r.into(),
                product: p.into(),
            }]
                .clone()
        };
        assert_eq!(leaf("north", "widget"), [10.0, 0.0, 30.0]);
        assert_eq!(leaf("west", "gizmo"), [5.0, 0.0, 0.0]);
        assert_eq!(leaf("south", "gadget"), [0.0, 0.0, 0.0]);
        assert_eq!(h.future_months(2), ["2024-04", "2024-05"]);
        // The month in progress (today) is incomplete even if the data reaches today.
        let today = [row("2025-12", "north", "widget", 1.0, "2025-12-31")];
        let h = History::from_rows(
            1,
            &[rows[0].clone(), today[0].clone()],
            date!(2025 - 12 - 31),
        )
        .unwrap();
        assert_eq!(h.incomplete, ["2025-12"]);
    }

    /// Holt's recursions by hand for [10, 12, 11], alpha = beta = 0.5: level 10, trend 2;
    /// y = 12: predicted 12, error 0, level 12, trend 2; y = 11: predicted 14, error −3,
    /// level 12.5, trend 1.25; RMSE √(9/2); forecasts 13.75, 15.
    #[test]
    fn holt_matches_a_hand_computation() {
        let m = Holt::with_params(&[10.0, 12.0, 11.0], 0.5, 0.5).unwrap();
        assert!(
            (m.level - 12.5).abs() < 1e-12 && (m.trend - 1.25).abs() < 1e-12,
            "{m:?}"
        );
        assert!((m.rmse - 4.5_f64.sqrt()).abs() < 1e-12);
        assert_eq!(m.forecast(2), [13.75, 15.0]);
    }

    #[tokio::test]
    async fn reconciled_forecasts_add_up_and_models_are_cached_per_generation() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::new(dir.path().join("fc.db")).with_seed_days(365));
        db.open().await.unwrap();
        let forecasts = Forecasts::new(Arc::clone(&db));
        db.call(|c| views::ensure_registered(c)).await.unwrap();
        assert!(matches!(
            forecasts.forecast("total", 6).await,
            Err(ForecastError::NoData)
        ));
        db.call(|c| {
            views::refresh(
                c,
                &views::VIEWS[1],
                "test",
                &CancellationToken::new(),
                std::time::Duration::ZERO,
            )
        })
        .await
        .unwrap();
        let total = forecasts.forecast("total", 6).await.unwrap();
        assert_eq!(total.reconciled.len(), 6);
        assert_eq!(total.history.len(), 12);
        assert_eq!(total.reconciled[0].month, "2024-01");
        let mut regions = 0.0;
        for r in &total.children {
            regions += forecasts.forecast(r, 6).await.unwrap().reconciled[0].units;
        }
        assert!(
            (regions - total.reconciled[0].units).abs() < 0.5,
            "coherent"
        );
        let (models, hits, _) = forecasts.models.stats();
        assert_eq!(models, 9 + 1 + 3, "leaves, total and regions");
        assert!(hits > 0);
        assert!(matches!(
            forecasts.forecast("east", 6).await,
            Err(ForecastError::UnknownNode(_))
        ));
        assert!(matches!(
            forecasts.forecast("total", 0).await,
            Err(ForecastError::Horizon(0))
        ));
        assert_eq!(forecasts.models.clear(), 13);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever the view holds (valid months or garbage strings, any bounded volume, gaps,
        /// any `today`), building the history and forecasting never panic and every
        /// forecast is finite and non-negative.
        #[test]
        fn history_and_forecasts_never_panic(
            rows in proptest::collection::vec(
                (
                    "(20[0-2][0-9]-(0[1-9]|1[0-2]))|(\\PC{0,8})",
                    0usize..3,
                    0usize..3,
                    0.0f64..9.0e9,
                    proptest::option::of("(20[0-2][0-9]-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))|(\\PC{0,8})"),
                ),
                0..40,
            ),
            today in 0i32..40_000,
            horizon in 0usize..30,
        ) {
            let rows: Vec<views::MonthlySales> = rows
                .into_iter()
                .map(|(month, r, p, units, last_day)| views::MonthlySales {
                    month,
                    region: crate::db::REGIONS[r].to_owned(),
                    product: crate::db::PRODUCTS[p].to_owned(),
                    units,
                    last_day,
                })
                .collect();
            let today = date!(2000 - 01 - 01) + time::Duration::days(i64::from(today));
            if let Ok(h) = History::from_rows(1, &rows, today) {
                proptest::prop_assert!(h.future_months(horizon).len() <= horizon);
                for series in h.leaves.values() {
                    proptest::prop_assert_eq!(series.len(), h.months.len());
                    if let Some(m) = Holt::fit(series) {
                        for v in m.forecast(horizon) {
                            proptest::prop_assert!(v.is_finite() && v >= 0.0, "{v}");
                        }
                    }
                }
            }
        }
    }
}
