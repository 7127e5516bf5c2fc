//! Background deliveries: [`route`] hands every outbox item to the transport that owns
//! its destination (the primary chat resolved by the directory; an item for a
//! transport that is not running stays journaled for the next start), and [`run`]
//! posts what was routed to one transport: notices and results as messages,
//! injections as a notice followed by a turn in the conversation's main lane. Each
//! item is acknowledged once it is in its chat (an injection: once its turn starts,
//! or the user dropped it from the queue); what is not acknowledged when the agent
//! stops is delivered again at the next start.

use super::Frontend;
use crate::address::{Address, Directory};
use crate::session::outbox::{Delivery, OutboxRx, Outgoing};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Where each transport takes its deliveries, by transport tag.
pub type Lanes = HashMap<String, mpsc::UnboundedSender<(Address, Delivery)>>;

/// Routes the outbox until every sender is gone.
pub async fn route(mut outbox: OutboxRx, directory: Arc<dyn Directory>, lanes: Lanes) {
    while let Some(delivery) = outbox.recv().await {
        let Some(to) = delivery.item.destination().resolve(directory.as_ref()) else {
            tracing::warn!(
                "no chat to deliver a background result to (no primary chat is configured)"
            );
            delivery.done();
            continue;
        };
        match lanes.get(&to.transport) {
            Some(tx) => {
                if tx.send((to, delivery)).is_err() {
                    tracing::info!("the transport stopped; the delivery waits for the next start");
                }
            }
            None => {
                tracing::warn!(chat = %to, "no running transport owns this chat; the delivery waits for the next start");
            }
        }
    }
}

/// Consumes `rx` until the agent stops.
pub async fn run(fe: Arc<Frontend>, mut rx: mpsc::UnboundedReceiver<(Address, Delivery)>) {
    while let Some((to, mut delivery)) = rx.recv().await {
        match delivery.item.clone() {
            Outgoing::Notice { text, .. } => {
                if fe.post_agent_text(&to, &text, None, None).await.is_err() {
                    return;
                }
                delivery.done();
            }
            Outgoing::Post {
                text,
                reply_to,
                session,
                ..
            } => {
                if fe
                    .post_agent_text(&to, &text, reply_to, session.as_deref())
                    .await
                    .is_err()
                {
                    return;
                }
                delivery.done();
            }
            Outgoing::Report { text, receipt, .. } => {
                let Ok(delivered) = fe.post_agent_text(&to, &text, None, None).await else {
                    return;
                };
                fe.core().outbox.report(&receipt, delivered);
                delivery.done();
            }
            Outgoing::Offer { text, buttons, .. } => {
                let reply = crate::ops::Reply::text(text)
                    .with_buttons(crate::session::outbox::OfferButton::rows(&buttons));
                if fe.post_offer(&to, &reply).await.is_err() {
                    return;
                }
                delivery.done();
            }
            Outgoing::Inject { notice, prompt, .. } => {
                if let Some(n) = notice {
                    if fe.post_agent_text(&to, &n, None, None).await.is_err() {
                        return;
                    }
                    delivery.notice_posted();
                }
                fe.submit_acknowledged(&to, prompt, move || delivery.done())
                    .await;
            }
        }
    }
}
