//! Which live processes an agent keeps warm: at most `max` (the least recently used
//! goes first), none idle longer than `idle`, none above a memory cap. The pool only
//! decides; the processes it gives back are the caller's to shut down (so a policy
//! decision never blocks on a process, and tests need none).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;
use tokio::time::Instant;

struct Entry<P> {
    process: P,
    last_used: Instant,
}

/// Warm processes by session key (see the module docs).
pub struct LivePool<K, P> {
    max: usize,
    idle: Duration,
    entries: HashMap<K, Entry<P>>,
}

impl<K: Eq + Hash + Clone, P> LivePool<K, P> {
    /// A pool of at most `max` processes (at least one), each idle at most `idle`.
    pub fn new(max: usize, idle: Duration) -> Self {
        Self {
            max: max.max(1),
            idle,
            entries: HashMap::new(),
        }
    }

    /// Changes the limits (a config reload); the next [`Self::put`] and
    /// [`Self::expire`] follow them.
    pub fn set_limits(&mut self, max: usize, idle: Duration) {
        self.max = max.max(1);
        self.idle = idle;
    }

    /// The warm processes, left in place.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &P)> {
        self.entries.iter().map(|(k, e)| (k, &e.process))
    }

    /// How many processes are warm.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes the warm process of `key` for a turn (`None`: start one).
    pub fn take(&mut self, key: &K) -> Option<P> {
        self.entries.remove(key).map(|e| e.process)
    }

    /// Puts `process` back after a turn, used `now`. Returns what must be shut down:
    /// a process `key` already had, and the least recently used ones above `max`.
    pub fn put(&mut self, key: K, process: P, now: Instant) -> Vec<P> {
        let just_used = key.clone();
        let mut out: Vec<P> = self
            .entries
            .insert(
                key,
                Entry {
                    process,
                    last_used: now,
                },
            )
            .map(|old| old.process)
            .into_iter()
            .collect();
        while self.entries.len() > self.max {
            let Some(oldest) = self
                .entries
                .iter()
                // The process just put back is the most recently used even when
                // another one has the same timestamp.
                .filter(|(k, _)| **k != just_used)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                out.push(e.process);
            }
        }
        out
    }

    /// Removes the processes idle for longer than the limit at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<P> {
        let idle = self.idle;
        let stale: Vec<K> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last_used) > idle)
            .map(|(k, _)| k.clone())
            .collect();
        stale
            .into_iter()
            .filter_map(|k| self.entries.remove(&k).map(|e| e.process))
            .collect()
    }

    /// Removes the processes for which `over_cap` is true (memory above the cap).
    pub fn evict_where(&mut self, mut over_cap: impl FnMut(&P) -> bool) -> Vec<P> {
        let keys: Vec<K> = self
            .entries
            .iter()
            .filter(|(_, e)| over_cap(&e.process))
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|k| self.entries.remove(&k).map(|e| e.process))
            .collect()
    }

    /// Removes the process of `key` (`/new`, `/stop`, a session reset).
    pub fn remove(&mut self, key: &K) -> Option<P> {
        self.take(key)
    }

    /// Removes every process (shutdown).
    pub fn drain(&mut self) -> Vec<P> {
        self.entries.drain().map(|(_, e)| e.process).collect()
    }

    /// When the next process becomes idle too long (`None`: the pool is empty).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries.values().map(|e| e.last_used + self.idle).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn least_recently_used_goes_first_and_idle_ones_expire() {
        let mut pool: LivePool<&str, u32> = LivePool::new(2, Duration::from_mins(10));
        let t0 = Instant::now();
        assert!(pool.put("a", 1, t0).is_empty());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(pool.put("b", 2, Instant::now()).is_empty());
        // "a" is used again: now "b" is the least recently used.
        let a = pool.take(&"a").unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(pool.put("a", a, Instant::now()).is_empty());
        assert_eq!(pool.put("c", 3, Instant::now()), vec![2], "b evicted");
        assert_eq!(pool.len(), 2);
        assert_eq!(
            pool.put("c", 4, Instant::now()),
            vec![3],
            "a replaced process is returned"
        );

        assert_eq!(
            pool.next_expiry(),
            Some(t0 + Duration::from_secs(2) + Duration::from_mins(10))
        );
        tokio::time::advance(Duration::from_mins(10)).await;
        assert!(
            pool.expire(Instant::now()).is_empty(),
            "exactly the limit is not over it"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        let mut gone = pool.expire(Instant::now());
        gone.sort_unstable();
        assert_eq!(gone, vec![1, 4]);
        assert!(pool.is_empty() && pool.next_expiry().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn memory_cap_remove_and_drain() {
        let mut pool: LivePool<u8, u32> = LivePool::new(0, Duration::from_mins(1));
        assert_eq!(
            pool.put(1, 100, Instant::now()),
            Vec::<u32>::new(),
            "max is at least one"
        );
        assert_eq!(pool.put(2, 300, Instant::now()), vec![100]);
        let mut pool: LivePool<u8, u32> = LivePool::new(4, Duration::from_mins(1));
        for (k, rss) in [(1, 100), (2, 300), (3, 250)] {
            pool.put(k, rss, Instant::now());
        }
        let mut over = pool.evict_where(|rss| *rss > 200);
        over.sort_unstable();
        assert_eq!(over, vec![250, 300]);
        assert_eq!(pool.remove(&1), Some(100));
        assert_eq!(pool.remove(&1), None);
        pool.put(5, 1, Instant::now());
        assert_eq!(pool.drain(), vec![1]);
    }
}
