//! `Cache`: the API's response cache, a `moka` cache bounded in bytes. Keys are built from
//! validated parameters only ([`CacheKey`]), so a client sending random query strings cannot
//! grow it: an invalid parameter is rejected before the cache is consulted, and every valid
//! combination maps to one normalized key. Entries live `cache_ttl`, are all invalidated when
//! a view refreshes, and are dropped at stop.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use lifecycle_core::Service;
use serde::Serialize;

use crate::config::AppConfig;
use crate::forecasts::Node;
use crate::input::{Day, Product, Region};

/// A cached response, identified by its validated parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// `/views/daily_totals`.
    Daily {
        /// From day.
        from: Option<Day>,
        /// To day.
        to: Option<Day>,
        /// Page size.
        limit: i64,
        /// Offset.
        offset: i64,
    },
    /// `/views/monthly_sales`.
    Monthly {
        /// Region filter.
        region: Option<Region>,
        /// Product filter.
        product: Option<Product>,
        /// Page size.
        limit: i64,
        /// Offset.
        offset: i64,
    },
    /// `/forecasts/{node}`.
    Forecast {
        /// The node.
        node: Node,
        /// Months ahead.
        horizon: i64,
    },
}

/// Cache counters, as served by `/cache`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to compute the value.
    pub misses: u64,
    /// Invalidations (each drops every entry).
    pub invalidations: u64,
    /// Entries now.
    pub entries: u64,
    /// Bytes of cached JSON now.
    pub bytes: u64,
    /// The bound on `bytes`.
    pub max_bytes: u64,
}

/// The response cache service.
#[derive(Service)]
#[service(tasks)]
pub struct Cache {
    #[depends_on]
    config: Arc<AppConfig>,
    /// Built on first use from `config` (the derive builds the service from its
    /// dependencies; fields that are not dependencies start at `Default`).
    store: std::sync::OnceLock<moka::future::Cache<CacheKey, Bytes>>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

/// An entry's weight: its JSON plus a fixed allowance for the key and bookkeeping.
fn weigh(_: &CacheKey, value: &Bytes) -> u32 {
    u32::try_from(value.len().saturating_add(128)).unwrap_or(u32::MAX)
}

#[lifecycle_core::tasks]
impl Cache {
    /// A cache bounded by `config.cache_max_bytes`, entries living `config.cache_ttl`.
    pub fn new(config: Arc<AppConfig>) -> Self {
        Self {
            config,
            store: std::sync::OnceLock::new(),
            hits: AtomicU64::default(),
            misses: AtomicU64::default(),
            invalidations: AtomicU64::default(),
        }
    }

    fn entries(&self) -> &moka::future::Cache<CacheKey, Bytes> {
        self.store.get_or_init(|| {
            moka::future::Cache::builder()
                .max_capacity(self.config.cache_max_bytes)
                .weigher(weigh)
                .time_to_live(self.config.cache_ttl)
                .build()
        })
    }

    /// The cached JSON for `key`, or computes it with `compute`, caches and returns it.
    /// Errors are not cached.
    pub async fn get_or_try_insert<E, F, Fut>(&self, key: CacheKey, compute: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if let Some(hit) = self.entries().get(&key).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let value = compute().await?;
        self.entries().insert(key, value.clone()).await;
        Ok(value)
    }

    /// Drops every entry (a view was refreshed: every cached response may be stale).
    pub fn invalidate_all(&self) {
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        self.entries().invalidate_all();
    }

    /// Runs moka's pending maintenance (evictions, expirations) every 10 s; moka also runs
    /// it as entries are written.
    #[background_task(every = "10s")]
    async fn housekeeping(&self) {
        self.entries().run_pending_tasks().await;
    }

    #[on_stop]
    async fn clear_at_stop(&self) {
        self.entries().run_pending_tasks().await;
        let n = self.entries().entry_count();
        self.entries().invalidate_all();
        self.entries().run_pending_tasks().await;
        tracing::info!(entries = n, "cache cleared");
    }

    /// The counters (after moka's pending maintenance, so `entries` and `bytes` are exact).
    pub async fn stats(&self) -> CacheStats {
        self.entries().run_pending_tasks().await;
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            entries: self.entries().entry_count(),
            bytes: self.entries().weighted_size(),
            max_bytes: self.config.cache_max_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cache(max_bytes: u64) -> Cache {
        Cache::new(Arc::new(AppConfig {
            cache_max_bytes: max_bytes,
            ..AppConfig::default()
        }))
    }

    fn key(i: i64) -> CacheKey {
        CacheKey::Forecast {
            node: Node::Total,
            horizon: i,
        }
    }

    #[tokio::test]
    async fn hits_misses_and_errors_not_cached() {
        let c = cache(1 << 20);
        let v = c
            .get_or_try_insert(key(1), || async { Ok::<_, ()>(Bytes::from("1")) })
            .await
            .unwrap();
        assert_eq!(v, "1");
        let again = c
            .get_or_try_insert(key(1), || async { Ok::<_, ()>(Bytes::from("2")) })
            .await
            .unwrap();
        assert_eq!(again, "1", "served from the cache");
        let r = c
            .get_or_try_insert(key(2), || async { Err::<Bytes, _>("boom") })
            .await;
        assert!(r.is_err());
        let s = c.stats().await;
        assert_eq!((s.hits, s.misses, s.entries), (1, 2, 1));
        c.invalidate_all();
        assert_eq!(c.stats().await.entries, 0);
    }

    #[tokio::test]
    async fn stays_within_its_byte_bound() {
        let c = cache(64 * 1024);
        let value = Bytes::from(vec![b'x'; 1000]);
        for i in 0..1000 {
            let v = value.clone();
            c.get_or_try_insert(key(i), || async { Ok::<_, ()>(v) })
                .await
                .unwrap();
        }
        let s = c.stats().await;
        assert!(s.bytes <= 64 * 1024, "{s:?}");
        assert!(s.entries < 100, "{s:?}");
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl() {
        let c = Cache::new(Arc::new(AppConfig {
            cache_ttl: Duration::from_millis(20),
            ..AppConfig::default()
        }));
        c.get_or_try_insert(key(1), || async { Ok::<_, ()>(Bytes::from("1")) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await; // moka's own clock: real time
        let v = c
            .get_or_try_insert(key(1), || async { Ok::<_, ()>(Bytes::from("2")) })
            .await
            .unwrap();
        assert_eq!(v, "2", "expired and recomputed");
    }
}
