//! `Cache`: an in-memory TTL cache for API responses. Invalidated when views refresh,
//! swept by a periodic task, cleared at stop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lifecycle_core::Service;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::AppConfig;

pub(crate) struct Entry {
    value: Arc<Value>,
    expires: Instant,
}

/// Cache counters, as served by `/cache`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to compute the value.
    pub misses: u64,
    /// Entries dropped by invalidation.
    pub invalidated: u64,
    /// Entries dropped because they expired.
    pub expired: u64,
    /// Entries now.
    pub entries: u64,
}

/// The TTL cache service.
#[derive(Service)]
#[service(tasks)]
pub struct Cache {
    #[depends_on]
    config: Arc<AppConfig>,
    entries: Mutex<HashMap<String, Entry>>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidated: AtomicU64,
    expired: AtomicU64,
}

#[lifecycle_core::tasks]
impl Cache {
    /// A cache whose entries live `config.cache_ttl`.
    pub fn new(config: Arc<AppConfig>) -> Self {
        Self {
            config,
            entries: Mutex::default(),
            hits: AtomicU64::default(),
            misses: AtomicU64::default(),
            invalidated: AtomicU64::default(),
            expired: AtomicU64::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached value for `key`, or computes it with `compute`, caches it for the
    /// configured TTL and returns it. Errors are not cached.
    pub async fn get_or_try_insert<E, F, Fut>(&self, key: &str, compute: F) -> Result<Arc<Value>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value, E>>,
    {
        if let Some(hit) = self.get(key) {
            return Ok(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(compute().await?);
        self.insert(key, Arc::clone(&value));
        Ok(value)
    }

    /// The cached value, if present and fresh.
    pub fn get(&self, key: &str) -> Option<Arc<Value>> {
        let entries = self.entries();
        let entry = entries.get(key).filter(|e| e.expires > Instant::now())?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(Arc::clone(&entry.value))
    }

    /// Caches `value` under `key` for the configured TTL.
    pub fn insert(&self, key: &str, value: Arc<Value>) {
        let expires = Instant::now() + self.config.cache_ttl;
        self.entries()
            .insert(key.to_owned(), Entry { value, expires });
    }

    /// Drops every entry whose key starts with `prefix`; returns how many.
    pub fn invalidate_prefix(&self, prefix: &str) -> usize {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|k, _| !k.starts_with(prefix));
        let dropped = before - entries.len();
        self.invalidated
            .fetch_add(dropped as u64, Ordering::Relaxed);
        dropped
    }

    /// Drops expired entries every 10 s. Without a `Shutdown` parameter, a run in progress
    /// is simply dropped at stop.
    #[background_task(every = "10s")]
    async fn sweep_expired(&self) {
        self.sweep();
    }

    /// Drops expired entries; returns how many.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, e| e.expires > now);
        let dropped = before - entries.len();
        self.expired.fetch_add(dropped as u64, Ordering::Relaxed);
        dropped
    }

    /// Drops everything; returns how many.
    pub fn clear(&self) -> usize {
        let mut entries = self.entries();
        let n = entries.len();
        entries.clear();
        n
    }

    #[on_stop]
    fn clear_at_stop(&self) {
        let n = self.clear();
        tracing::info!(entries = n, "cache cleared");
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidated: self.invalidated.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
            entries: self.entries().len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cache(ttl: Duration) -> Cache {
        Cache::new(Arc::new(AppConfig {
            cache_ttl: ttl,
            ..AppConfig::default()
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_the_ttl() {
        let c = cache(Duration::from_secs(10));
        let v = c
            .get_or_try_insert("views/a", || async { Ok::<_, ()>(Value::from(1)) })
            .await
            .unwrap();
        assert_eq!(*v, Value::from(1));
        let again = c
            .get_or_try_insert("views/a", || async { Ok::<_, ()>(Value::from(2)) })
            .await
            .unwrap();
        assert_eq!(*again, Value::from(1), "served from the cache");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(c.get("views/a").is_none());
        assert_eq!(c.sweep(), 1);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.expired, s.entries), (1, 1, 1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn invalidation_by_prefix_and_errors_not_cached() {
        let c = cache(Duration::from_secs(10));
        c.insert("views/a", Arc::new(Value::Null));
        c.insert("views/b", Arc::new(Value::Null));
        c.insert("forecasts/total", Arc::new(Value::Null));
        assert_eq!(c.invalidate_prefix("views/"), 2);
        assert!(c.get("forecasts/total").is_some());
        let r = c
            .get_or_try_insert("x", || async { Err::<Value, _>("boom") })
            .await;
        assert!(r.is_err());
        assert!(c.get("x").is_none());
        assert_eq!(c.clear(), 1);
    }
}
