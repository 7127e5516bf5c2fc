//! Who is connected: the open `WebSocket`s (bounded by `max_connections`, counted by
//! `/health`) and, once authenticated, which API chat each one is in. Background
//! deliveries for an API chat go to its connected clients and wait here while none
//! is connected (the durable outbox keeps them across restarts until then).

use crate::address::Address;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The API's connections.
#[derive(Debug, Default)]
pub struct Hub {
    open: AtomicUsize,
}

/// One open WebSocket's place under `max_connections`; freed when dropped.
#[derive(Debug)]
pub struct Slot {
    hub: Arc<Hub>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    /// A new hub.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Open `WebSocket`s now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// A place for one more WebSocket, or `None` when `max` are open.
    pub fn try_open(self: &Arc<Self>, max: usize) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot { hub: self.clone() })
    }
}

/// The API chat of a client that authenticated with `chat_id` and `channel_id`.
pub fn address(chat_id: i64, channel_id: Option<i64>) -> Address {
    Address::new(super::TRANSPORT, chat_id, channel_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed() {
        let hub = Hub::new();
        let a = hub.try_open(2).unwrap();
        let _b = hub.try_open(2).unwrap();
        assert!(hub.try_open(2).is_none());
        assert_eq!(hub.open(), 2);
        drop(a);
        assert_eq!(hub.open(), 1);
        assert!(hub.try_open(2).is_some());
    }
}
