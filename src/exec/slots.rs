//! The agent-wide cap on CLI runs (`max_concurrent_runs`): a launcher that wraps the
//! real one and lets a run start only when a slot is free. Interactive turns are
//! served before background work that waits; a stopped run gives up its wait.

use super::{BoxFuture, Launch, Launcher, TimeoutKind};
use crate::config::LiveConfig;
use crate::provider::event::{Event, FailureKind, Outcome};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
struct Count {
    running: usize,
    /// Runs waiting for a slot.
    waiting: usize,
    /// Interactive runs waiting for a slot (background runs let them go first).
    urgent_waiting: usize,
}

/// The slots of one agent.
#[derive(Debug)]
pub struct RunSlots {
    config: LiveConfig,
    count: Mutex<Count>,
    freed: Notify,
}

/// A taken slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<RunSlots>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().running -= 1;
        self.slots.freed.notify_waiters();
    }
}

impl RunSlots {
    /// Slots as many as the config's `max_concurrent_runs` (read at every wait).
    pub fn new(config: LiveConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            count: Mutex::default(),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Count> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs holding a slot now.
    pub fn running(&self) -> usize {
        self.lock().running
    }

    /// Runs waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting
    }

    /// Wakes the waiting runs so they compare against the limit again (after
    /// `max_concurrent_runs` was raised by a config reload).
    pub fn recheck(&self) {
        self.freed.notify_waiters();
    }

    /// Waits for a slot; `None` when `cancel` fires first. A wait that is given up
    /// (cancelled, or its future dropped) leaves the queue.
    pub async fn take(self: &Arc<Self>, urgent: bool, cancel: &CancellationToken) -> Option<Slot> {
        let mut queued: Option<Waiting<'_>> = None;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut c = self.lock();
                let limit = self.config.get().max_concurrent_runs.max(1);
                if c.running < limit && (urgent || c.urgent_waiting == 0) {
                    c.running += 1;
                    if let Some(w) = queued.as_mut() {
                        c.waiting -= 1;
                        c.urgent_waiting -= usize::from(urgent);
                        w.armed = false;
                    }
                    return Some(Slot {
                        slots: self.clone(),
                    });
                }
                if queued.is_none() {
                    queued = Some(Waiting {
                        slots: self,
                        urgent,
                        armed: true,
                    });
                    c.waiting += 1;
                    c.urgent_waiting += usize::from(urgent);
                    tracing::info!(
                        running = c.running,
                        limit,
                        urgent,
                        "a run waits for a free slot"
                    );
                }
            }
            tokio::select! {
                () = &mut freed => {}
                () = cancel.cancelled() => return None,
            }
        }
    }
}

/// A run's place in the queue; leaving it without a slot (cancelled, or the wait
/// dropped) takes it out of the counts and wakes the others.
struct Waiting<'a> {
    slots: &'a RunSlots,
    urgent: bool,
    /// False once the run got its slot (the counts were updated then).
    armed: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut c = self.slots.lock();
        c.waiting -= 1;
        c.urgent_waiting -= usize::from(self.urgent);
        drop(c);
        // Background runs may have waited for this one to go first.
        self.slots.freed.notify_waiters();
    }
}

/// A launcher that runs `inner` within the agent's slots.
#[derive(Debug)]
pub struct Limited {
    inner: Arc<dyn Launcher>,
    slots: Arc<RunSlots>,
}

impl Limited {
    /// `inner` limited by `slots`.
    pub fn new(inner: Arc<dyn Launcher>, slots: Arc<RunSlots>) -> Self {
        Self { inner, slots }
    }
}

impl Launcher for Limited {
    fn launch(
        &self,
        job: Launch,
        events: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> BoxFuture<Outcome> {
        let inner = self.inner.clone();
        let slots = self.slots.clone();
        Box::pin(async move {
            let urgent = job.timeout == TimeoutKind::Interactive;
            let Some(_slot) = slots.take(urgent, &cancel).await else {
                return Outcome::Failed {
                    kind: FailureKind::Cancelled,
                    detail: "stopped while waiting for a free run slot".into(),
                    session_id: None,
                };
            };
            inner.launch(job, events, cancel).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use std::time::Duration;

    fn slots(limit: usize) -> Arc<RunSlots> {
        RunSlots::new(LiveConfig::new(AgentConfig {
            max_concurrent_runs: limit,
            ..AgentConfig::default()
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn runs_wait_for_a_slot_and_interactive_ones_go_first() {
        let s = slots(1);
        let never = CancellationToken::new();
        let first = s.take(false, &never).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn_wait = |urgent: bool, name: &'static str| {
            let (s, order, never) = (s.clone(), order.clone(), never.clone());
            tokio::spawn(async move {
                let slot = s.take(urgent, &never).await.unwrap();
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_secs(1)).await;
                drop(slot);
            })
        };
        let background = spawn_wait(false, "background");
        tokio::time::sleep(Duration::from_millis(10)).await;
        let interactive = spawn_wait(true, "interactive");
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(s.running(), 1, "both wait");
        drop(first);
        background.await.unwrap();
        interactive.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["interactive", "background"]);
        assert_eq!(s.running(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stopped_wait_gives_up_and_lets_others_through() {
        let s = slots(1);
        let never = CancellationToken::new();
        let held = s.take(false, &never).await.unwrap();
        let stop = CancellationToken::new();
        let waiting = {
            let (s, stop) = (s.clone(), stop.clone());
            tokio::spawn(async move { s.take(true, &stop).await.is_none() })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        stop.cancel();
        assert!(
            waiting.await.unwrap(),
            "the stopped wait ends without a slot"
        );
        drop(held);
        // The interactive waiter that gave up no longer holds background runs back.
        let next = tokio::time::timeout(Duration::from_secs(1), s.take(false, &never)).await;
        assert!(next.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_wait_leaves_the_queue() {
        let s = slots(1);
        let never = CancellationToken::new();
        let held = s.take(false, &never).await.unwrap();
        let waiting = {
            let (s, never) = (s.clone(), never.clone());
            tokio::spawn(async move { s.take(true, &never).await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(s.waiting(), 1);
        waiting.abort();
        let _ = waiting.await;
        assert_eq!(s.waiting(), 0, "the aborted wait is not counted");
        drop(held);
        // No urgent waiter is left to hold background runs back.
        let next = tokio::time::timeout(Duration::from_secs(1), s.take(false, &never)).await;
        assert!(next.is_ok());
    }
}
