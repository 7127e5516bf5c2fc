//! Who is connected: the open `WebSocket`s (bounded by `max_connections`, counted
//! by `/health`) and, once authenticated, which API chat each one is in.
//!
//! Background deliveries for an API chat ([`deliver`]: task results, cron jobs,
//! webhooks, async answers — everything the outbox routes to transport `api`) go to
//! the clients of that chat that are connected, as `result` frames marked
//! `background`; an injection's turn streams to them like a turn of their own.
//! While no client of the chat is connected a delivery waits here, and it stays in
//! the durable outbox (so across restarts too) until a client has it: a delivery is
//! acknowledged only once a connection wrote its frame to the socket.

use super::ApiContext;
use super::render::{self, TurnFrames};
use crate::address::Address;
use crate::session::outbox::{Delivery, Outgoing};
use crate::session::{Lane, TurnRequest, TurnUpdate};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a delivery waits for a connected client to write it.
const ACK_WAIT: Duration = Duration::from_secs(10);

/// A frame for a connection to send, and who wants to know it went out.
#[derive(Debug)]
pub struct Push {
    /// The frame (plaintext JSON; the connection encrypts it).
    pub frame: Value,
    /// Told once the frame was written to the socket.
    pub ack: Option<oneshot::Sender<()>>,
}

#[derive(Debug)]
struct Client {
    address: Address,
    tx: mpsc::UnboundedSender<Push>,
}

/// The API's connections.
#[derive(Debug)]
pub struct Hub {
    open: AtomicUsize,
    next: AtomicU64,
    clients: Mutex<HashMap<u64, Client>>,
    arrivals: mpsc::UnboundedSender<Address>,
    arrivals_rx: Mutex<Option<mpsc::UnboundedReceiver<Address>>>,
}

/// One open `WebSocket`'s place under `max_connections`; freed when dropped.
#[derive(Debug)]
pub struct Slot {
    hub: Arc<Hub>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An authenticated connection's membership of its chat; leaves when dropped.
#[derive(Debug)]
pub struct Member {
    hub: Arc<Hub>,
    id: u64,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.hub
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Hub {
    /// A new hub.
    pub fn new() -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            open: AtomicUsize::new(0),
            next: AtomicU64::new(1),
            clients: Mutex::default(),
            arrivals: tx,
            arrivals_rx: Mutex::new(Some(rx)),
        })
    }

    /// Open `WebSocket`s now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// A place for one more `WebSocket`, or `None` when `max` are open.
    pub fn try_open(self: &Arc<Self>, max: usize) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot { hub: self.clone() })
    }

    /// An authenticated connection joins the chat `address`; deliveries waiting
    /// for that chat come out on the returned channel.
    pub fn join(self: &Arc<Self>, address: &Address) -> (Member, mpsc::UnboundedReceiver<Push>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                id,
                Client {
                    address: address.clone(),
                    tx,
                },
            );
        let _ = self.arrivals.send(address.clone());
        (
            Member {
                hub: self.clone(),
                id,
            },
            rx,
        )
    }

    /// Whether a client of `address` is connected.
    pub fn connected(&self, address: &Address) -> bool {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .any(|c| c.address == *address)
    }

    /// Hands `frame` to every client of `address`; returns one acknowledgement per
    /// client that took it.
    pub fn broadcast(&self, address: &Address, frame: &Value) -> Vec<oneshot::Receiver<()>> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients
            .values()
            .filter(|c| c.address == *address)
            .filter_map(|c| {
                let (tx, rx) = oneshot::channel();
                let push = Push {
                    frame: frame.clone(),
                    ack: Some(tx),
                };
                c.tx.send(push).ok().map(|()| rx)
            })
            .collect()
    }

    /// Hands `frame` to every client of `address` and waits (briefly) until one
    /// of them wrote it; false when none did.
    pub async fn deliver(&self, address: &Address, frame: &Value) -> bool {
        let acks = self.broadcast(address, frame);
        if acks.is_empty() {
            return false;
        }
        let any = futures_util::future::select_ok(
            acks.into_iter()
                .map(|rx| Box::pin(async move { rx.await.map_err(|_| ()) })),
        );
        matches!(tokio::time::timeout(ACK_WAIT, any).await, Ok(Ok(_)))
    }
}

/// The API chat of a client that authenticated with `chat_id` and `channel_id`.
pub fn address(chat_id: i64, channel_id: Option<i64>) -> Address {
    Address::new(super::TRANSPORT, chat_id, channel_id)
}

/// Delivers what the outbox routes to the API until the agent stops: at once to
/// a connected client of the chat, else when one connects. `announcements` (what
/// a restart tells the API chats: "restarted", interrupted turns with their Retry
/// buttons) go to the first client of their chat, as `background` results.
pub async fn deliver(
    ctx: ApiContext,
    mut rx: mpsc::UnboundedReceiver<(Address, Delivery)>,
    announcements: Vec<crate::ops::recovery::Announcement>,
) {
    let Some(mut arrivals) = ctx
        .hub
        .arrivals_rx
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    else {
        tracing::error!("api: deliveries are already being served");
        return;
    };
    let mut waiting: HashMap<Address, VecDeque<Delivery>> = HashMap::new();
    let mut announced: HashMap<Address, Vec<Value>> = HashMap::new();
    for a in announcements {
        let mut frame = render::reply(&a.reply);
        frame["background"] = Value::Bool(true);
        announced.entry(a.address).or_default().push(frame);
    }
    loop {
        let (to, batch) = tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            item = rx.recv() => match item {
                Some((to, d)) => (to, VecDeque::from([d])),
                None => return,
            },
            Some(to) = arrivals.recv() => {
                for frame in announced.remove(&to).unwrap_or_default() {
                    drop(ctx.hub.broadcast(&to, &frame));
                }
                match waiting.remove(&to) {
                    Some(batch) => (to, batch),
                    None => continue,
                }
            }
        };
        let mut batch = batch;
        // Behind what already waits for this chat, in order.
        if let Some(earlier) = waiting.remove(&to) {
            let mut all = earlier;
            all.extend(batch);
            batch = all;
        }
        while let Some(d) = batch.pop_front() {
            if let Err(d) = deliver_one(&ctx, &to, d).await {
                batch.push_front(d);
                tracing::debug!(chat = %to, count = batch.len(), "api: deliveries wait for a client");
                waiting.insert(to.clone(), batch);
                break;
            }
        }
    }
}

/// Delivers `d` to the clients of `to`; gives it back when none took it.
async fn deliver_one(ctx: &ApiContext, to: &Address, mut d: Delivery) -> Result<(), Delivery> {
    if !ctx.hub.connected(to) {
        return Err(d);
    }
    let core = ctx.core();
    match d.item.clone() {
        Outgoing::Notice { text, .. } => {
            if !ctx
                .hub
                .deliver(to, &render::background(core, &text, None))
                .await
            {
                return Err(d);
            }
        }
        Outgoing::Post { text, session, .. } => {
            let frame = render::background(core, &text, session.as_deref());
            if !ctx.hub.deliver(to, &frame).await {
                return Err(d);
            }
        }
        Outgoing::Report { text, receipt, .. } => {
            if !ctx
                .hub
                .deliver(to, &render::background(core, &text, None))
                .await
            {
                return Err(d);
            }
            core.outbox.report(&receipt, true);
        }
        Outgoing::Offer { text, buttons, .. } => {
            let mut frame = render::background(core, &text, None);
            frame["buttons"] =
                render::buttons(&crate::session::outbox::OfferButton::rows(&buttons));
            if !ctx.hub.deliver(to, &frame).await {
                return Err(d);
            }
        }
        Outgoing::Inject { notice, prompt, .. } => {
            if let Some(n) = notice {
                if !ctx
                    .hub
                    .deliver(to, &render::background(core, &n, None))
                    .await
                {
                    return Err(d);
                }
                d.notice_posted();
            }
            inject(ctx, to, prompt, d).await;
            return Ok(());
        }
    }
    d.done();
    Ok(())
}

/// Runs an injected prompt as a turn in the chat's main lane, streamed to every
/// client of the chat; acknowledged once it started (or was dropped).
async fn inject(ctx: &ApiContext, to: &Address, prompt: String, d: Delivery) {
    let (tx, mut rx) = mpsc::channel(256);
    let hub = ctx.hub.clone();
    let core = ctx.core().clone();
    let address = to.clone();
    tokio::spawn(async move {
        let mut frames = TurnFrames::new(core, None);
        let mut ack = Some(d);
        while let Some(update) = rx.recv().await {
            if matches!(
                update,
                TurnUpdate::Started { .. } | TurnUpdate::Dropped { .. }
            ) && let Some(d) = ack.take()
            {
                d.done();
            }
            let (out, end) = frames.update(update);
            for frame in &out {
                drop(hub.broadcast(&address, frame));
            }
            if end {
                break;
            }
        }
    });
    let req = TurnRequest::new(Lane::Main, prompt, tx);
    ctx.core().conversations.submit(to, req).await;
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

    #[tokio::test]
    async fn frames_reach_only_the_clients_of_their_chat() {
        let hub = Hub::new();
        let (a, b) = (address(5, None), address(5, Some(2)));
        let (member, mut rx) = hub.join(&a);
        assert!(hub.connected(&a) && !hub.connected(&b));
        assert!(hub.broadcast(&b, &Value::Null).is_empty());
        let writer = tokio::spawn(async move {
            let push = rx.recv().await.unwrap();
            push.ack.unwrap().send(()).unwrap();
            push.frame
        });
        assert!(hub.deliver(&a, &serde_json::json!({"x": 1})).await);
        assert_eq!(writer.await.unwrap()["x"], 1);
        drop(member);
        assert!(!hub.connected(&a));
        assert!(!hub.deliver(&a, &Value::Null).await);
    }
}
