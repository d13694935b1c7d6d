//! `Scenarios`: what-if scenarios over the forecasts: CRUD with validation rules, optimistic
//! concurrency for collaborative edits (each edit names the version it was based on), every
//! change broadcast over the hub, and the scenario's effect on the reconciled forecasts.
//! It covers the original's analysis, validation and collaboration services.
//!
//! It has no start or stop hook: it still starts after, and stops before, what it uses.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use lifecycle_core::Service;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::db::{Database, DbError, now_ms};
use crate::forecasts::{ForecastError, Forecasts, Node, hierarchy};
use crate::hub::{Broadcaster, HubEvent};
use crate::input::{Author, Description, Horizon, Name, Percent, Text};

/// One multiplicative adjustment: `percent` applied to every leaf under `node`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// `total`, a region or `region/product` (checked against the hierarchy by [`validate`]).
    pub node: NodeName,
    /// −100 (nothing sold) to +300.
    pub percent: Percent,
}

/// A node name as sent by a client: 1–32 characters.
pub type NodeName = Text<1, 32>;

/// A stored scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Its id.
    pub id: i64,
    /// Name, 1–80 characters.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Months ahead, 1–24.
    pub horizon: usize,
    /// The adjustments.
    pub adjustments: Vec<Adjustment>,
    /// Incremented by every edit.
    pub version: i64,
    /// Who made the last edit.
    pub updated_by: String,
    /// When (ms since the epoch).
    pub updated_at_ms: i64,
}

/// What a client sends to create or edit a scenario. Every field is bounded by its type;
/// [`validate`] checks what types cannot (nodes of the hierarchy, duplicates, count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInput {
    /// Name, 1–80 characters.
    pub name: Name,
    /// Free text, up to 2000 characters.
    #[serde(default = "no_description")]
    pub description: Description,
    /// Months ahead, 1–24.
    pub horizon: Horizon,
    /// Adjustments (at most 20).
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    /// Who edits (shown to collaborators), 1–64 characters.
    #[serde(default = "anonymous")]
    pub author: Author,
    /// For edits: the version the edit is based on.
    #[serde(default)]
    pub base_version: Option<i64>,
}

fn anonymous() -> Author {
    Author::new("anonymous").unwrap_or_else(|_| unreachable!("a valid constant"))
}

fn no_description() -> Description {
    Description::new("").unwrap_or_else(|_| unreachable!("a valid constant"))
}

/// A broken validation rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Why a scenario operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Validation rules were broken.
    #[error("invalid scenario: {}", .0.iter().map(|v| format!("{}: {}", v.field, v.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Violation>),
    /// No such scenario.
    #[error("no scenario {0}")]
    NotFound(i64),
    /// Someone else edited it first.
    #[error("scenario {id} is at version {current}, the edit was based on {based_on:?}")]
    Conflict {
        /// The scenario.
        id: i64,
        /// Its version now.
        current: i64,
        /// The version the edit was based on.
        based_on: Option<i64>,
    },
    /// Forecasting failed.
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The rules types cannot express (the original's `ScenarioValidationEngine`): every
/// adjusted node exists, none is adjusted twice, at most 20 adjustments. Every broken rule
/// is reported, not only the first.
pub fn validate(input: &ScenarioInput) -> Result<(), ScenarioError> {
    let mut v = Vec::new();
    let mut violation = |field: &str, message: String| {
        v.push(Violation {
            field: field.to_owned(),
            message,
        });
    };
    if input.adjustments.len() > MAX_ADJUSTMENTS {
        violation("adjustments", format!("at most {MAX_ADJUSTMENTS}"));
    }
    let mut seen = HashSet::new();
    for (i, a) in input
        .adjustments
        .iter()
        .enumerate()
        .take(MAX_ADJUSTMENTS + 1)
    {
        let field = format!("adjustments[{i}]");
        if Node::parse(a.node.as_str()).is_none() {
            violation(&field, format!("unknown node `{}`", a.node.as_str()));
        }
        if !seen.insert(a.node.as_str()) {
            violation(&field, format!("node `{}` adjusted twice", a.node.as_str()));
        }
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Invalid(v))
    }
}

/// The most adjustments a scenario may have.
pub const MAX_ADJUSTMENTS: usize = 20;

/// A scenario's effect: baseline and adjusted reconciled totals per node, per month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioImpact {
    /// The scenario.
    pub scenario: i64,
    /// Forecast months.
    pub months: Vec<String>,
    /// Per node (`total` and regions): baseline and adjusted forecasts.
    pub nodes: BTreeMap<String, NodeImpact>,
}

/// One node's baseline and adjusted forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeImpact {
    /// Reconciled baseline.
    pub baseline: Vec<f64>,
    /// Reconciled with the adjustments.
    pub adjusted: Vec<f64>,
}

/// The scenario service. No hooks, no tasks: `#[derive(Service)]` alone.
#[derive(Service)]
pub struct Scenarios {
    #[depends_on]
    db: Arc<Database>,
    #[depends_on]
    events: Arc<dyn Broadcaster>,
    #[depends_on]
    forecasts: Arc<Forecasts>,
}

fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Scenario, String)> {
    Ok((
        Scenario {
            id: row.get(0)?,
            name: row.get(1)?,
            description: row.get(2)?,
            horizon: usize::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
            adjustments: Vec::new(),
            version: row.get(5)?,
            updated_by: row.get(6)?,
            updated_at_ms: row.get(7)?,
        },
        row.get(4)?,
    ))
}

fn decode((mut s, adjustments): (Scenario, String)) -> Result<Scenario, DbError> {
    s.adjustments = serde_json::from_str(&adjustments).map_err(|e| DbError::Corrupt {
        column: "scenarios.adjustments",
        reason: e.to_string(),
    })?;
    Ok(s)
}

const COLUMNS: &str =
    "id, name, description, horizon, adjustments, version, updated_by, updated_at_ms";

impl Scenarios {
    /// Scenarios stored in `db`, announced on `events`, evaluated with `forecasts`.
    pub fn new(db: Arc<Database>, events: Arc<dyn Broadcaster>, forecasts: Arc<Forecasts>) -> Self {
        Self {
            db,
            events,
            forecasts,
        }
    }

    /// One page of scenarios, by id: at most `limit` after skipping `offset`.
    pub async fn list(&self, limit: i64, offset: i64) -> Result<Vec<Scenario>, ScenarioError> {
        let rows = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM scenarios ORDER BY id LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = stmt
                    .query_map([limit, offset], read)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows.into_iter().map(decode).collect()
            })
            .await?;
        Ok(rows)
    }

    /// One scenario.
    pub async fn get(&self, id: i64) -> Result<Scenario, ScenarioError> {
        self.db
            .read(move |c| {
                c.query_row(
                    &format!("SELECT {COLUMNS} FROM scenarios WHERE id = ?1"),
                    [id],
                    read,
                )
                .optional()?
                .map(decode)
                .transpose()
            })
            .await?
            .ok_or(ScenarioError::NotFound(id))
    }

    /// Creates a scenario (version 1) and broadcasts it.
    pub async fn create(&self, input: ScenarioInput) -> Result<Scenario, ScenarioError> {
        validate(&input)?;
        let adjustments = serde_json::to_string(&input.adjustments).unwrap_or_default();
        let (name, author) = (
            input.name.as_str().to_owned(),
            input.author.as_str().to_owned(),
        );
        let (description, horizon) = (input.description.as_str().to_owned(), input.horizon.get());
        let id = self
            .db
            .call(move |c| {
                c.execute(
                    "INSERT INTO scenarios (name, description, horizon, adjustments, version,
                        updated_by, updated_at_ms) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
                    params![name, description, horizon, adjustments, author, now_ms()],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await?;
        let created = self.get(id).await?;
        self.announce(&created, "created");
        Ok(created)
    }

    /// Edits a scenario if `input.base_version` is its current version (else `Conflict`:
    /// a collaborator edited it first), and broadcasts the edit.
    pub async fn update(&self, id: i64, input: ScenarioInput) -> Result<Scenario, ScenarioError> {
        validate(&input)?;
        let adjustments = serde_json::to_string(&input.adjustments).unwrap_or_default();
        let based_on = input.base_version;
        let (name, author) = (
            input.name.as_str().to_owned(),
            input.author.as_str().to_owned(),
        );
        let (description, horizon) = (input.description.as_str().to_owned(), input.horizon.get());
        let outcome = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let current: Option<i64> = tx
                    .query_row("SELECT version FROM scenarios WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let Some(current) = current else {
                    return Ok(Err(ScenarioError::NotFound(id)));
                };
                if based_on != Some(current) {
                    return Ok(Err(ScenarioError::Conflict {
                        id,
                        current,
                        based_on,
                    }));
                }
                tx.execute(
                    "UPDATE scenarios SET name = ?2, description = ?3, horizon = ?4,
                        adjustments = ?5, version = version + 1, updated_by = ?6,
                        updated_at_ms = ?7 WHERE id = ?1",
                    params![
                        id,
                        name,
                        description,
                        horizon,
                        adjustments,
                        author,
                        now_ms()
                    ],
                )?;
                tx.commit()?;
                Ok(Ok(()))
            })
            .await?;
        outcome?;
        let updated = self.get(id).await?;
        self.announce(&updated, "updated");
        Ok(updated)
    }

    /// Deletes a scenario and broadcasts it.
    pub async fn delete(&self, id: i64, author: &str) -> Result<(), ScenarioError> {
        let deleted = self
            .db
            .call(move |c| Ok(c.execute("DELETE FROM scenarios WHERE id = ?1", [id])?))
            .await?;
        if deleted == 0 {
            return Err(ScenarioError::NotFound(id));
        }
        self.events.broadcast(&HubEvent::ScenarioEdited {
            id,
            version: 0,
            action: "deleted".into(),
            by: author.to_owned(),
        });
        Ok(())
    }

    fn announce(&self, s: &Scenario, action: &str) {
        self.events.broadcast(&HubEvent::ScenarioEdited {
            id: s.id,
            version: s.version,
            action: action.to_owned(),
            by: s.updated_by.clone(),
        });
    }

    /// The scenario's effect on the reconciled forecasts of the total and each region. An
    /// adjustment applies to every leaf under its node; factors of nested nodes multiply.
    pub async fn impact(&self, id: i64) -> Result<ScenarioImpact, ScenarioError> {
        let scenario = self.get(id).await?;
        let history = self.forecasts.history().await?;
        let baseline = self.forecasts.leaf_forecasts(&history, scenario.horizon);
        let adjusted: BTreeMap<Node, Vec<f64>> = baseline
            .iter()
            .map(|(leaf, values)| {
                let factor: f64 = scenario
                    .adjustments
                    .iter()
                    .filter(|a| Node::parse(a.node.as_str()).is_some_and(|n| n.covers(leaf)))
                    .map(|a| 1.0 + a.percent.get() / 100.0)
                    .product();
                (leaf.clone(), values.iter().map(|v| v * factor).collect())
            })
            .collect();
        let round = |v: Vec<f64>| v.into_iter().map(|x| (x * 10.0).round() / 10.0).collect();
        let nodes = std::iter::once(Node::Total)
            .chain(Node::Total.children())
            .map(|node| {
                let impact = NodeImpact {
                    baseline: round(hierarchy::sum_up(&node, &baseline)),
                    adjusted: round(hierarchy::sum_up(&node, &adjusted)),
                };
                (node.key(), impact)
            })
            .collect();
        Ok(ScenarioImpact {
            scenario: id,
            months: history.future_months(scenario.horizon),
            nodes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::WebSocketHub;

    fn input(name: &str) -> ScenarioInput {
        serde_json::from_value(serde_json::json!({
            "name": name, "horizon": 6, "author": "ana",
            "adjustments": [{ "node": "north", "percent": 10.0 }],
        }))
        .unwrap()
    }

    #[test]
    fn types_reject_out_of_range_fields() {
        for bad in [
            serde_json::json!({ "name": "   ", "horizon": 6 }),
            serde_json::json!({ "name": "x".repeat(81), "horizon": 6 }),
            serde_json::json!({ "name": "ok", "horizon": 0 }),
            serde_json::json!({ "name": "ok", "horizon": 6, "description": "d".repeat(2001) }),
            serde_json::json!({ "name": "ok", "horizon": 6, "author": "a".repeat(65) }),
            serde_json::json!({ "name": "ok", "horizon": 6,
                                "adjustments": [{ "node": "north", "percent": 500.0 }] }),
        ] {
            assert!(
                serde_json::from_value::<ScenarioInput>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn validation_reports_every_broken_rule() {
        assert!(validate(&input("Promo")).is_ok());
        let bad: ScenarioInput = serde_json::from_value(serde_json::json!({
            "name": "x", "horizon": 3,
            "adjustments": [
                { "node": "north", "percent": 1.0 },
                { "node": "north", "percent": 2.0 },
                { "node": "mars", "percent": 1.0 },
            ],
        }))
        .unwrap();
        let Err(ScenarioError::Invalid(v)) = validate(&bad) else {
            panic!("expected violations")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["adjustments[1]", "adjustments[2]"]);
    }

    #[tokio::test]
    async fn collaborative_edits_use_optimistic_versions() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::new(dir.path().join("s.db")).with_seed_days(1));
        db.open().await.unwrap();
        let hub = Arc::new(WebSocketHub::default());
        let forecasts = Arc::new(Forecasts::new(Arc::clone(&db)));
        let scenarios = Scenarios::new(Arc::clone(&db), Arc::clone(&hub) as _, forecasts);
        let s = scenarios.create(input("Promo")).await.unwrap();
        assert_eq!(s.version, 1);
        let mut edit = input("Promo v2");
        edit.base_version = Some(1);
        let s2 = scenarios.update(s.id, edit.clone()).await.unwrap();
        assert_eq!((s2.version, s2.name.as_str()), (2, "Promo v2"));
        // A collaborator still on version 1 loses.
        assert!(matches!(
            scenarios.update(s.id, edit).await,
            Err(ScenarioError::Conflict { current: 2, .. })
        ));
        assert_eq!(scenarios.list(50, 0).await.unwrap().len(), 1);
        assert!(scenarios.list(50, 1).await.unwrap().is_empty());
        scenarios.delete(s.id, "ana").await.unwrap();
        assert!(matches!(
            scenarios.get(s.id).await,
            Err(ScenarioError::NotFound(_))
        ));
        assert_eq!(hub.stats().broadcasts, 3);
    }
}
