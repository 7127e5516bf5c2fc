//! The agent's side of the bus: answers requests routed to it (ping, stop-all,
//! shutdown) and takes notices for its users. Returns when the supervisor hangs up.

use super::AgentContext;
use crate::ipc::Inbox;
use crate::ipc::message::{Ack, Body, Envelope, ErrorBody, ErrorCode, Pong, Stopped};

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
            let count = ctx.sessions.stop_everything().await;
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
            let key = crate::state::sessions::SessionKey::telegram(0, None);
            let _ = ctx
                .sessions
                .env()
                .outbox
                .send(crate::session::outbox::Outgoing::Notice { key, text: n.text });
            return;
        }
        Body::Error(e) => {
            tracing::warn!(code = ?e.code, "bus error: {}", e.message);
            return;
        }
        b if crate::tasks::wire::is_task_request(&b) => {
            crate::tasks::wire::serve(ctx.sessions.env(), &ctx.bus, env.id, b);
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
