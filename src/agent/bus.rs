//! The agent's side of the bus: answers requests routed to it (ping, stop-all,
//! shutdown, inter-agent `ask`), takes notices and async results for its users and
//! shared-memory updates. Returns when the supervisor hangs up. Long work (an
//! `ask`) runs in its own task so the bus keeps being served.

use super::AgentContext;
use crate::ipc::Inbox;
use crate::ipc::message::{Ack, Ask, Body, Envelope, ErrorBody, ErrorCode, Pong, Stopped};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// How long the asking agent may take to accept an async result.
const RESULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Synchronous asks being answered, by the id of their bus request: the asker may
/// hang up (`ask_cancel`), and then the run stops.
type Asks = Arc<Mutex<HashMap<u64, CancellationToken>>>;

/// Serves incoming frames until the connection closes.
pub async fn serve(ctx: AgentContext, mut inbox: Inbox) {
    let asks = Asks::default();
    while let Some(env) = inbox.recv().await {
        handle(&ctx, &asks, env).await;
    }
}

fn lock(asks: &Asks) -> std::sync::MutexGuard<'_, HashMap<u64, CancellationToken>> {
    asks.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn handle(ctx: &AgentContext, asks: &Asks, env: Envelope) {
    let answer = match env.body {
        Body::Ping(p) => Body::Pong(Pong {
            agent: ctx.paths.name().to_owned(),
            pid: std::process::id(),
            payload: p.payload,
        }),
        Body::StopAll(_) => {
            let count = ctx.core.conversations.stop_all().await.stopped as u32;
            tracing::info!(count, "stop_all: stopped runs");
            Body::Stopped(Stopped { count, agents: 1 })
        }
        Body::Shutdown(s) => {
            tracing::info!(reason = %s.reason, "shutdown requested by the supervisor");
            ctx.shutdown.cancel();
            Body::Ack(Ack {})
        }
        Body::Notice(n) => {
            tracing::info!(from = ?env.from, "notice: {}", n.text);
            let _ = ctx
                .core
                .outbox
                .send(crate::session::outbox::Outgoing::Notice {
                    to: crate::address::Destination::Primary,
                    text: n.text,
                });
            return;
        }
        Body::Ask(ask) => {
            ask_request(ctx, asks, env.id, ask).await;
            return;
        }
        Body::AskCancel(c) => {
            if let Some(stop) = lock(asks).remove(&c.request) {
                tracing::info!(
                    request = c.request,
                    "the asking agent stopped waiting; stopping its request"
                );
                stop.cancel();
            }
            return;
        }
        Body::AskResult(r) => {
            tracing::info!(task = %r.task_id, from = %r.agent, ok = r.ok, "async inter-agent result");
            ctx.core.named.deliver(ctx.core.directory.as_ref(), &r);
            Body::Ack(Ack {})
        }
        Body::SharedMemory(m) => {
            crate::memory::sync(&ctx.paths, &m.content);
            return;
        }
        Body::Error(e) => {
            tracing::warn!(code = ?e.code, "bus error: {}", e.message);
            return;
        }
        b if b.is_task_request() => {
            crate::tasks::wire::serve(&ctx.core.tasks, &ctx.bus, env.id, b);
            return;
        }
        Body::CronRun(r) => {
            if ctx.core.cron.run_now(&r.job) {
                Body::Ack(Ack {})
            } else {
                Body::Error(ErrorBody {
                    code: ErrorCode::NotFound,
                    message: format!("agent `{}` has no cron job `{}`", ctx.paths.name(), r.job),
                })
            }
        }
        other => Body::Error(ErrorBody {
            code: ErrorCode::BadRequest,
            message: format!(
                "agent `{}` does not handle `{}`",
                ctx.paths.name(),
                other.type_name()
            ),
        }),
    };
    if let Err(e) = ctx.bus.reply(env.id, answer).await {
        tracing::debug!(error = %e, "could not answer bus request");
    }
}

/// An `ask` from another agent: answered when done (sync), or acknowledged at once
/// and reported later with `ask_result` (async, `task_id` set).
async fn ask_request(ctx: &AgentContext, asks: &Asks, id: u64, ask: Ask) {
    let core = ctx.core.clone();
    let bus = ctx.bus.clone();
    let home = crate::named::interagent::home_chat(core.directory.as_ref());
    tracing::info!(from = %ask.sender, r#async = ask.task_id.is_some(), "inter-agent request");
    let Some(task_id) = ask.task_id.clone() else {
        let stop = CancellationToken::new();
        lock(asks).insert(id, stop.clone());
        let asks = asks.clone();
        tokio::spawn(async move {
            let answered = core.named.answer(&home, &ask, Some(stop)).await;
            lock(&asks).remove(&id);
            let body = match answered {
                Ok(mut a) => {
                    a.text = fit_for_bus(std::mem::take(&mut a.text));
                    Body::Answer(a)
                }
                Err(message) => Body::Error(ErrorBody {
                    code: ErrorCode::Internal,
                    message,
                }),
            };
            if let Err(e) = bus.reply(id, body).await {
                tracing::warn!(error = %e, "cannot return the answer to the asking agent");
            }
        });
        return;
    };
    if let Err(e) = bus.reply(id, Body::Ack(Ack {})).await {
        tracing::debug!(error = %e, "cannot acknowledge the async request");
        return;
    }
    core.named.announce(&ask, &task_id);
    tokio::spawn(async move {
        let result = core.named.answer(&home, &ask, None).await;
        let mut report = core.named.result_for(&ask, &task_id, result);
        report.text = fit_for_bus(std::mem::take(&mut report.text));
        let to = ask.reply_to.clone().unwrap_or_else(|| ask.sender.clone());
        let sent = bus
            .request(Some(&to), Body::AskResult(report), RESULT_TIMEOUT)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, agent = %to, "cannot deliver the async result");
        }
    });
}

/// An answer cut to what one bus message carries, saying so.
fn fit_for_bus(text: String) -> String {
    const NOTE: usize = 128;
    if text.len() <= crate::ipc::MAX_TEXT {
        return text;
    }
    let head = crate::util::truncate_bytes(&text, crate::ipc::MAX_TEXT - NOTE);
    format!(
        "{head}\n\n[… the answer was cut here: {} of {} bytes fit in one message]",
        head.len(),
        text.len()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_answer_is_cut_to_fit_a_bus_message() {
        let short = "fine".to_owned();
        assert_eq!(super::fit_for_bus(short.clone()), short);
        let long = "ä".repeat(crate::ipc::MAX_TEXT);
        let cut = super::fit_for_bus(long);
        assert!(cut.len() <= crate::ipc::MAX_TEXT, "{}", cut.len());
        assert!(cut.ends_with("bytes fit in one message]"));
    }
}
