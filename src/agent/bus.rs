//! The agent's side of the bus: answers requests routed to it (ping, stop-all,
//! shutdown, inter-agent `ask`), takes notices and async results for its users and
//! shared-memory updates. Returns when the supervisor hangs up. Long work (an
//! `ask`) runs in its own task so the bus keeps being served.

use super::AgentContext;
use crate::ipc::Inbox;
use crate::ipc::message::{Ack, Ask, Body, Envelope, ErrorBody, ErrorCode, Pong, Stopped};

/// How long the asking agent may take to accept an async result.
const RESULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Serves incoming frames until the connection closes.
pub async fn serve(ctx: AgentContext, mut inbox: Inbox) {
    while let Some(env) = inbox.recv().await {
        handle(&ctx, env).await;
    }
}

async fn handle(ctx: &AgentContext, env: Envelope) {
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
            ask_request(ctx, env.id, ask).await;
            return;
        }
        Body::AskResult(r) => {
            tracing::info!(task = %r.task_id, from = %r.agent, ok = r.ok, "async inter-agent result");
            ctx.core.named.deliver(ctx.core.directory.as_ref(), &r);
            Body::Ack(Ack {})
        }
        Body::SharedMemory(m) => {
            super::memory::sync(&ctx.paths, &m.content);
            return;
        }
        Body::Error(e) => {
            tracing::warn!(code = ?e.code, "bus error: {}", e.message);
            return;
        }
        b if crate::tasks::wire::is_task_request(&b) => {
            crate::tasks::wire::serve(&ctx.core.tasks, &ctx.bus, env.id, b);
            return;
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
async fn ask_request(ctx: &AgentContext, id: u64, ask: Ask) {
    let core = ctx.core.clone();
    let bus = ctx.bus.clone();
    let home = crate::named::interagent::home_chat(core.directory.as_ref());
    tracing::info!(from = %ask.sender, r#async = ask.task_id.is_some(), "inter-agent request");
    let Some(task_id) = ask.task_id.clone() else {
        tokio::spawn(async move {
            let body = match core.named.answer(&home, &ask).await {
                Ok(a) => Body::Answer(a),
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
        let result = core.named.answer(&home, &ask).await;
        let report = core.named.result_for(&ask, &task_id, result);
        let to = ask.reply_to.clone().unwrap_or_else(|| ask.sender.clone());
        let sent = bus
            .request(Some(&to), Body::AskResult(report), RESULT_TIMEOUT)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, agent = %to, "cannot deliver the async result");
        }
    });
}
