//! Abuse guards, all in memory on the monotonic clock: sliding-window rate limits
//! per hook and per client address, a gate for clients that keep failing auth,
//! signed-timestamp windows and the cache of seen delivery ids.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

/// The sliding window of every rate limit.
pub const WINDOW: Duration = Duration::from_mins(1);
/// Failed auth attempts a client may make per [`WINDOW`]; further calls from it get
/// 429 before any signature is computed.
pub const AUTH_FAILURES_PER_MINUTE: u32 = 10;
/// How long a delivery id is remembered.
pub const DELIVERY_TTL: Duration = Duration::from_hours(24);
/// Most delivery ids remembered (oldest forgotten first).
pub const MAX_DELIVERIES: usize = 10_000;
/// Longest delivery id kept (longer ones are cut).
const MAX_DELIVERY_ID: usize = 256;
/// Most keys (clients) a limiter tracks; beyond, the least recently seen go.
const MAX_KEYS: usize = 4096;

/// Headers that carry a sender's delivery id, in the order they are looked for.
pub const DELIVERY_HEADERS: &[&str] = &[
    "X-GitHub-Delivery",
    "X-Request-Id",
    "X-Shopify-Webhook-Id",
    "Webhook-Id",
    "Idempotency-Key",
];

/// Counts events per key in a sliding [`WINDOW`].
#[derive(Debug)]
pub struct SlidingWindow<K> {
    events: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for SlidingWindow<K> {
    fn default() -> Self {
        Self {
            events: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> SlidingWindow<K> {
    /// Events of `key` within the window ending at `now`.
    pub fn count(&mut self, key: &K, now: Instant) -> usize {
        let Some(q) = self.events.get_mut(key) else {
            return 0;
        };
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.is_empty() {
            self.events.remove(key);
            return 0;
        }
        q.len()
    }

    /// Records one event of `key` at `now`.
    pub fn record(&mut self, key: &K, now: Instant) {
        if !self.events.contains_key(key) && self.events.len() >= MAX_KEYS {
            self.prune(now);
        }
        self.events.entry(key.clone()).or_default().push_back(now);
    }

    /// Drops expired events; if still full, the key seen least recently.
    fn prune(&mut self, now: Instant) {
        self.events
            .retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        if self.events.len() >= MAX_KEYS
            && let Some(oldest) = self
                .events
                .iter()
                .min_by_key(|(_, q)| q.back().copied())
                .map(|(k, _)| k.clone())
        {
            self.events.remove(&oldest);
        }
    }

    /// Keys tracked (for tests and status).
    pub fn keys(&self) -> usize {
        self.events.len()
    }
}

/// Delivery ids seen per hook, for [`DELIVERY_TTL`], at most [`MAX_DELIVERIES`].
#[derive(Debug, Default)]
pub struct DeliveryCache {
    seen: HashSet<(String, String)>,
    order: VecDeque<(Instant, (String, String))>,
}

impl DeliveryCache {
    fn key(hook: &str, id: &str) -> (String, String) {
        (
            hook.to_owned(),
            crate::util::truncate_bytes(id, MAX_DELIVERY_ID).to_owned(),
        )
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < DELIVERY_TTL && self.order.len() <= MAX_DELIVERIES {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
    }

    /// Whether `id` was recorded for `hook` within the TTL.
    pub fn contains(&mut self, hook: &str, id: &str, now: Instant) -> bool {
        self.expire(now);
        self.seen.contains(&Self::key(hook, id))
    }

    /// Remembers `id` for `hook`.
    pub fn record(&mut self, hook: &str, id: &str, now: Instant) {
        let key = Self::key(hook, id);
        if self.seen.insert(key.clone()) {
            self.order.push_back((now, key));
        }
        self.expire(now);
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Whether a signed prefix that is a unix timestamp (all digits) lies within
/// `tolerance` of `now_unix`. Prefixes that are not timestamps are not checked.
pub fn timestamp_fresh(signed_prefix: Option<&str>, tolerance: Duration, now_unix: i64) -> bool {
    let Some(p) = signed_prefix.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    else {
        return true;
    };
    // Too many digits to be a time at all: not fresh.
    let Ok(ts) = p.parse::<i64>() else {
        return false;
    };
    now_unix.abs_diff(ts) <= tolerance.as_secs()
}

/// Why [`Guards`] turned a call away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over a rate limit (hook, client, or failed-auth gate).
    RateLimited,
    /// The delivery id was seen before.
    Duplicate,
}

/// All guards of one server, behind one lock so a check and its recording are atomic.
#[derive(Debug, Default)]
pub struct Guards {
    per_hook: SlidingWindow<String>,
    per_client: SlidingWindow<IpAddr>,
    auth_failures: SlidingWindow<IpAddr>,
    deliveries: DeliveryCache,
}

impl Guards {
    /// Whether `client` may still try to authenticate.
    pub fn auth_allowed(&mut self, client: IpAddr, now: Instant) -> bool {
        self.auth_failures.count(&client, now) < AUTH_FAILURES_PER_MINUTE as usize
    }

    /// Counts a failed auth attempt of `client`.
    pub fn auth_failed(&mut self, client: IpAddr, now: Instant) {
        self.auth_failures.record(&client, now);
    }

    /// Admits an authenticated call: not a duplicate delivery, within the hook's
    /// `per_hook` and the client's `per_client` limits. Only an admitted call is
    /// counted and has its delivery id remembered (a refused one may be retried).
    pub fn admit(
        &mut self,
        hook: &str,
        client: IpAddr,
        delivery: Option<&str>,
        (per_hook, per_client): (u32, u32),
        now: Instant,
    ) -> Result<(), Refusal> {
        if let Some(id) = delivery
            && self.deliveries.contains(hook, id, now)
        {
            return Err(Refusal::Duplicate);
        }
        let hook_key = hook.to_owned();
        if self.per_hook.count(&hook_key, now) >= per_hook as usize
            || self.per_client.count(&client, now) >= per_client as usize
        {
            return Err(Refusal::RateLimited);
        }
        self.per_hook.record(&hook_key, now);
        self.per_client.record(&client, now);
        if let Some(id) = delivery {
            self.deliveries.record(hook, id, now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[tokio::test(start_paused = true)]
    async fn per_hook_limits_are_independent_and_slide() {
        let mut g = Guards::default();
        let now = Instant::now();
        let limits = (3, 100);
        for _ in 0..3 {
            assert_eq!(g.admit("a", ip(1), None, limits, now), Ok(()));
        }
        assert_eq!(
            g.admit("a", ip(2), None, limits, now),
            Err(Refusal::RateLimited)
        );
        assert_eq!(
            g.admit("b", ip(1), None, limits, now),
            Ok(()),
            "hook b unaffected"
        );
        let later = now + Duration::from_secs(30);
        assert_eq!(
            g.admit("a", ip(1), None, limits, later),
            Err(Refusal::RateLimited)
        );
        let after = now + WINDOW;
        assert_eq!(
            g.admit("a", ip(1), None, limits, after),
            Ok(()),
            "window slid"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn per_client_limit_spans_hooks() {
        let mut g = Guards::default();
        let now = Instant::now();
        let limits = (5, 4);
        for hook in ["a", "b", "c", "d"] {
            assert_eq!(g.admit(hook, ip(1), None, limits, now), Ok(()));
        }
        assert_eq!(
            g.admit("e", ip(1), None, limits, now),
            Err(Refusal::RateLimited)
        );
        assert_eq!(
            g.admit("e", ip(2), None, limits, now),
            Ok(()),
            "other client"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_auth_gate() {
        let mut g = Guards::default();
        let now = Instant::now();
        for _ in 0..AUTH_FAILURES_PER_MINUTE {
            assert!(g.auth_allowed(ip(1), now));
            g.auth_failed(ip(1), now);
        }
        assert!(!g.auth_allowed(ip(1), now));
        assert!(g.auth_allowed(ip(2), now));
        assert!(g.auth_allowed(ip(1), now + WINDOW));
    }

    #[tokio::test(start_paused = true)]
    async fn duplicates_are_per_hook_and_only_admitted_ones_count() {
        let mut g = Guards::default();
        let now = Instant::now();
        assert_eq!(g.admit("a", ip(1), Some("d1"), (1, 10), now), Ok(()));
        assert_eq!(
            g.admit("a", ip(1), Some("d1"), (1, 10), now),
            Err(Refusal::Duplicate)
        );
        assert_eq!(
            g.admit("b", ip(1), Some("d1"), (1, 10), now),
            Ok(()),
            "other hook"
        );
        // Refused by the rate limit: the id is not remembered, a retry can pass.
        assert_eq!(
            g.admit("a", ip(1), Some("d2"), (1, 10), now),
            Err(Refusal::RateLimited)
        );
        let later = now + WINDOW;
        assert_eq!(g.admit("a", ip(1), Some("d2"), (1, 10), later), Ok(()));
        let next_day = now + DELIVERY_TTL;
        assert_eq!(
            g.admit("a", ip(1), Some("d1"), (1, 10), next_day),
            Ok(()),
            "expired"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn delivery_cache_is_bounded() {
        let mut c = DeliveryCache::default();
        let now = Instant::now();
        for i in 0..MAX_DELIVERIES + 5 {
            c.record("h", &format!("id{i}"), now);
        }
        assert_eq!(c.len(), MAX_DELIVERIES);
        assert!(!c.contains("h", "id0", now), "oldest evicted");
        assert!(!c.contains("h", "id4", now));
        assert!(c.contains("h", "id5", now));
        assert!(c.contains("h", &format!("id{}", MAX_DELIVERIES + 4), now));
        let long = "x".repeat(10_000);
        c.record("h", &long, now);
        assert!(c.contains("h", &long, now));
        assert_eq!(c.len(), MAX_DELIVERIES);
    }

    #[tokio::test(start_paused = true)]
    async fn client_keys_are_bounded() {
        let mut w: SlidingWindow<u32> = SlidingWindow::default();
        let now = Instant::now();
        for k in 0..(MAX_KEYS as u32 + 10) {
            w.record(&k, now);
        }
        assert!(w.keys() <= MAX_KEYS);
    }

    #[test]
    fn timestamp_window() {
        let tol = Duration::from_mins(5);
        let now = 1_700_000_000;
        assert!(timestamp_fresh(Some("1700000000"), tol, now));
        assert!(timestamp_fresh(Some("1699999700"), tol, now));
        assert!(timestamp_fresh(Some("1700000300"), tol, now));
        assert!(!timestamp_fresh(Some("1699999699"), tol, now));
        assert!(!timestamp_fresh(Some("1700000301"), tol, now));
        assert!(!timestamp_fresh(Some("99999999999999999999999"), tol, now));
        assert!(timestamp_fresh(None, tol, now));
        assert!(timestamp_fresh(Some("v2-abc"), tol, now), "not a timestamp");
    }
}
