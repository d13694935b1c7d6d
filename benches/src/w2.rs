//! Workload 2: dependency-ordered start of 1 000 services in 10 levels, each depending on 2
//! services of the level above, each start hook sleeping a random 2–18 ms (fixed seed).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use lifecycle_core::{DynRegistry, Service};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{SplitMix, nanos_since};

/// The generated graph.
#[derive(Debug, Clone)]
pub struct Dag {
    /// Start-hook duration of each service.
    pub delay: Vec<Duration>,
    /// Dependencies of each service (indices into the level above).
    pub deps: Vec<Vec<usize>>,
    /// Services in a topological order (level by level).
    pub topo: Vec<usize>,
}

impl Dag {
    /// `levels` × `width` services, each depending on 2 distinct services of the level above,
    /// hook delays uniform in 2 000–18 000 µs. Deterministic in `seed`.
    pub fn generate(levels: usize, width: usize, seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let n = levels * width;
        let mut delay = Vec::with_capacity(n);
        let mut deps = Vec::with_capacity(n);
        for level in 0..levels {
            for _ in 0..width {
                delay.push(Duration::from_micros(rng.range(2_000, 18_000)));
                if level == 0 {
                    deps.push(Vec::new());
                } else {
                    let above = (level - 1) * width;
                    let a = rng.range(0, width as u64 - 1) as usize;
                    let mut b = rng.range(0, width as u64 - 2) as usize;
                    if b >= a {
                        b += 1;
                    }
                    deps.push(vec![above + a, above + b]);
                }
            }
        }
        Self {
            delay,
            deps,
            topo: (0..n).collect(),
        }
    }

    /// The length of the longest dependency chain, in hook time: the lower bound of any start.
    pub fn critical_path(&self) -> Duration {
        let mut finish = vec![Duration::ZERO; self.delay.len()];
        for &i in &self.topo {
            let ready = self.deps[i]
                .iter()
                .map(|&d| finish[d])
                .max()
                .unwrap_or_default();
            finish[i] = ready + self.delay[i];
        }
        finish.into_iter().max().unwrap_or_default()
    }

    /// What a level-by-level start would take: the sum of each level's slowest hook.
    pub fn level_by_level(&self, width: usize) -> Duration {
        self.delay
            .chunks(width)
            .map(|level| level.iter().copied().max().unwrap_or_default())
            .sum()
    }
}

/// The three implementations of workload 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// lifecycle `DynRegistry` with explicit edges.
    Lifecycle,
    /// Hand-written optimal schedule: each service starts the moment its deps are up.
    Optimal,
    /// Serial topological start (one service after the other).
    Serial,
}

impl Variant {
    /// All of them.
    pub const ALL: [Variant; 3] = [Variant::Lifecycle, Variant::Optimal, Variant::Serial];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Lifecycle => "lifecycle",
            Variant::Optimal => "hand-written optimal",
            Variant::Serial => "serial topological",
        }
    }
}

/// A service whose start hook sleeps.
#[derive(Debug, Service)]
#[service(tasks)]
pub struct Stage {
    delay: Duration,
}

#[lifecycle_core::tasks]
impl Stage {
    #[on_start]
    async fn start(&self) {
        tokio::time::sleep(self.delay).await;
    }
}

/// Runs one dependency-ordered start; returns its wall time in nanoseconds.
pub async fn run(variant: Variant, dag: &Dag) -> u64 {
    match variant {
        Variant::Lifecycle => {
            let t0 = Instant::now();
            let mut registry = DynRegistry::new();
            let ids: Vec<_> = dag
                .delay
                .iter()
                .enumerate()
                .map(|(i, &delay)| {
                    registry.add_named(format!("stage-{i}"), Arc::new(Stage { delay }))
                })
                .collect();
            for (i, deps) in dag.deps.iter().enumerate() {
                for &d in deps {
                    registry.depends_on(ids[i], ids[d]).expect("edge");
                }
            }
            let running = registry
                .build()
                .expect("build")
                .start()
                .await
                .expect("start");
            let total = nanos_since(t0);
            running.stop().await;
            total
        }
        Variant::Optimal => {
            let t0 = Instant::now();
            let up: Vec<CancellationToken> =
                dag.delay.iter().map(|_| CancellationToken::new()).collect();
            let up = &up;
            join_all(dag.delay.iter().enumerate().map(|(i, &delay)| async move {
                for &d in &dag.deps[i] {
                    up[d].cancelled().await;
                }
                tokio::time::sleep(delay).await;
                up[i].cancel();
            }))
            .await;
            nanos_since(t0)
        }
        Variant::Serial => {
            let t0 = Instant::now();
            for &i in &dag.topo {
                tokio::time::sleep(dag.delay[i]).await;
            }
            nanos_since(t0)
        }
    }
}
