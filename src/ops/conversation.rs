//! The conversation itself: `/start` (welcome screen and its prompt buttons),
//! `/new`, `/reset`, `/stop`, `/interrupt`, the Cancel button of a queued message
//! and the Retry button of an interrupted turn.

use super::{Action, Button, Ctx, Picture, Pressed, Reply, Response, Submit};
use crate::address::Address;
use crate::md;
use crate::provider::ProviderKind;
use crate::session::store::default_target;

/// `/start`.
pub fn start(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let core = ctx.core();
    let config = core.config.get();
    let ready: Vec<&str> = crate::provider::auth::ready(&core.paths)
        .into_iter()
        .map(crate::provider::ProviderKind::display_name)
        .collect();
    let auth_line = if ready.is_empty() {
        text.t("start.auth_none")
    } else {
        text.f(
            "start.auth_ok",
            &[
                ("providers", &ready.join(" + ")),
                ("model", &md::code(&config.model)),
            ],
        )
    };
    let body = text.f(
        "start.welcome",
        &[
            ("name", &md::escape(&ctx.sender.first_name)),
            ("agent", &md::escape(core.paths.name())),
            ("auth", &auth_line),
        ],
    );
    let buttons = (1..=3u8)
        .map(|i| {
            vec![Button::new(
                text.t(&format!("start.button{i}")),
                Action::Welcome(i),
            )]
        })
        .collect();
    let reply = Reply::text(body).with_buttons(buttons);
    Response {
        greet: true,
        ..Response::reply(match welcome_picture() {
            Some(picture) => reply.with_picture(picture),
            None => reply,
        })
    }
}

/// The welcome picture (`defaults/welcome.png`, drawn by
/// `packaging/welcome/welcome_png.py`).
fn welcome_picture() -> Option<Picture> {
    crate::home::default_file("welcome.png").map(|bytes| Picture {
        name: "welcome.png",
        bytes,
    })
}

/// A welcome-screen button: its prompt becomes the user's message.
pub fn welcome(ctx: &Ctx<'_>, n: u8) -> Response {
    let text = ctx.text();
    let prompt = text.t(&format!("start.prompt{n}"));
    if prompt.starts_with("start.") {
        return Response::none();
    }
    let label = text.t(&format!("start.button{n}"));
    Response {
        pressed: Pressed::Annotate(text.f("session.user_answer", &[("label", &label)])),
        submit: Some(Submit::main(prompt, ctx.message.clone())),
        ..Response::default()
    }
}

/// `/new` (reset the configured default provider's bucket and go back to the
/// configured model) and `/reset` (reset the active provider's bucket). Waits for a
/// running turn of the conversation to stop first.
pub async fn new(ctx: &Ctx<'_>, back_to_default: bool) -> Response {
    let provider = reset_at(ctx, &ctx.address, back_to_default).await;
    Response::say(md::escape(
        &ctx.text()
            .f("session.reset", &[("provider", provider.display_name())]),
    ))
}

/// At most this many topic names in the "no such topic" answer.
const KNOWN_TOPICS_SHOWN: usize = 20;

/// `/new [@TopicName]`: without a name [`new`] back to the default; with one, the
/// same for the forum topic of this chat whose cached name it is (case-insensitive).
/// Only that topic's session and its CLI end; an unknown name changes nothing.
pub async fn new_command(ctx: &Ctx<'_>, args: &str) -> Response {
    let Some(name) = args
        .trim()
        .strip_prefix('@')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return new(ctx, true).await;
    };
    let text = ctx.text();
    let sessions = ctx.core().conversations.engine().sessions.clone();
    let Some(topic) = sessions.topic_named(&ctx.address, name) else {
        let known: Vec<String> = sessions
            .topics(&ctx.address)
            .into_iter()
            .filter_map(|r| r.topic_name)
            .take(KNOWN_TOPICS_SHOWN)
            .map(|n| md::code(&n))
            .collect();
        let name = md::escape(name);
        return Response::say(if known.is_empty() {
            text.f("session.topic_unknown", &[("name", &name)])
        } else {
            text.f(
                "session.topic_unknown_known",
                &[("name", &name), ("topics", &known.join(", "))],
            )
        });
    };
    let provider = reset_at(ctx, &topic, true).await;
    let label = sessions
        .get(&topic)
        .and_then(|r| r.topic_name)
        .unwrap_or_else(|| name.to_owned());
    Response::say(text.f(
        "session.reset_topic",
        &[
            ("topic", &md::escape(&label)),
            ("provider", &md::escape(provider.display_name())),
        ],
    ))
}

/// Resets the session at `address` (a conversation of this chat): its warm process
/// ends, its running turn stops, then the bucket goes (and with `back_to_default`
/// the configured provider/model come back). Returns the provider reset.
async fn reset_at(ctx: &Ctx<'_>, address: &Address, back_to_default: bool) -> ProviderKind {
    let core = ctx.core();
    let engine = core.conversations.engine();
    let default = default_target(&core.config.get());
    let active = engine
        .sessions
        .target(address)
        .unwrap_or_else(|| default.clone());
    let provider = if back_to_default {
        default.provider
    } else {
        active.provider
    };
    // The warm process holds the old session: it ends with it.
    core.live.close(&address.to_string()).await;
    let store = engine.sessions.clone();
    let key = address.clone();
    core.conversations
        .exclusive(address, move || {
            store.reset_bucket(&key, provider);
            if back_to_default {
                store.set_target(&key, &default, chrono::Utc::now());
            }
        })
        .await;
    provider
}

/// `/stop`: stop what streams into this conversation and discard its queue.
pub async fn stop(ctx: &Ctx<'_>) -> Response {
    let core = ctx.core();
    let report = core.conversations.stop(&ctx.address).await;
    // `/stop` leaves no CLI process of this conversation, a warm one included (an
    // idle warm process is no work the user would count as stopped).
    core.live.close(&ctx.address.to_string()).await;
    let text = ctx.text();
    let msg = if report.any() {
        let provider = core
            .conversations
            .engine()
            .sessions
            .target(&ctx.address)
            .unwrap_or_else(|| default_target(&core.config.get()))
            .provider;
        text.f("stop.stopped", &[("provider", provider.display_name())])
    } else {
        text.t("stop.nothing")
    };
    Response::say(md::escape(&msg))
}

/// The Stop button under a streaming reply: the conversation's running turn stops
/// (its partial answer stays); the queue stays.
pub async fn stop_reply(ctx: &Ctx<'_>) -> Response {
    let stopped = ctx
        .core()
        .conversations
        .stop_running(&ctx.address, &crate::session::Lane::Main)
        .await;
    tracing::info!(chat = %ctx.address, stopped, "Stop pressed under the reply");
    Response::none()
}

/// `/interrupt`: stop what runs in every topic of this chat; the queue stays.
pub async fn interrupt(ctx: &Ctx<'_>) -> Response {
    let n = ctx.core().conversations.interrupt_chat(&ctx.address).await;
    let text = ctx.text();
    let msg = if n > 0 {
        text.f("interrupt.done", &[("count", &n.to_string())])
    } else {
        text.t("interrupt.nothing")
    };
    Response::say(md::escape(&msg))
}

/// The Cancel button of a queued message.
pub async fn cancel_queued(ctx: &Ctx<'_>, entry: u64) -> Response {
    if ctx
        .core()
        .conversations
        .cancel_queued(&ctx.address, entry)
        .await
    {
        return Response::none();
    }
    let gone = ctx.text().t("queue.gone");
    Response {
        toast: Some(gone.clone()),
        pressed: Pressed::Replace(Reply::text(md::escape(&gone))),
        ..Response::default()
    }
}

/// The Retry button of a turn a restart interrupted: the same prompt again, in the
/// same session.
pub fn retry(ctx: &Ctx<'_>, key: &str) -> Response {
    if Address::parse(key).as_ref() != Some(&ctx.address) {
        // Only the conversation the turn belonged to may run it again.
        tracing::warn!(
            key,
            "a Retry button pressed in another conversation; ignored"
        );
        return Response::none();
    }
    let inflight = &ctx.core().conversations.engine().inflight;
    match inflight.take_for_retry(key) {
        Some(turn) => Response {
            pressed: Pressed::Settle,
            submit: Some(Submit {
                is_recovery: true,
                ..Submit::main(turn.prompt, turn.message_id.or(ctx.message.clone()))
            }),
            ..Response::default()
        },
        None => Response::replace(Reply::text(md::escape(&ctx.text().t("session.retry_gone")))),
    }
}
