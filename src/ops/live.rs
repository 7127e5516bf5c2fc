//! A live CLI's requests in the chat: how an approval or a question reads and which
//! buttons it gets ([`ask_reply`]), what its message says once it is over
//! ([`end_note`]), the presses ([`answer`]), a question answered by the next message
//! ([`free_text`]) and "Add to the running turn" ([`steer`]). Every transport renders
//! the same [`Reply`]s.

use super::action::AskButton;
use super::{Action, Button, Ctx, Reply, Response};
use crate::exec::live::{AnswerError, AskChoice};
use crate::i18n::Catalog;
use crate::provider::event::AskEnd;
use crate::provider::live::{AskKind, Decision};

/// The buttons of one decision.
fn decision_button(text: &Catalog, key: &str, d: Decision) -> Button {
    let (label, choice) = match d {
        Decision::AllowOnce => ("live.allow_once", AskButton::Once),
        Decision::AllowSession => ("live.allow_session", AskButton::Session),
        Decision::AllowAlways => ("live.allow_always", AskButton::Always),
        Decision::Deny => ("live.deny", AskButton::Deny),
    };
    let style = if d == Decision::Deny {
        super::ButtonStyle::Danger
    } else {
        super::ButtonStyle::Success
    };
    Button::new(
        text.t(label),
        Action::Ask {
            key: key.to_owned(),
            choice,
        },
    )
    .styled(style)
}

/// A fenced block that no text inside can close.
fn fenced(body: &str) -> String {
    let mut fence = "```".to_owned();
    while body.contains(&fence) {
        fence.push('`');
    }
    format!("{fence}\n{body}\n{fence}")
}

/// The message of request `key` of `provider`'s CLI, with its buttons.
pub fn ask_reply(text: &Catalog, provider: &str, key: &str, ask: &AskKind) -> Reply {
    match ask {
        AskKind::Approval {
            tool,
            preview,
            choices,
        } => {
            let mut markdown = text.f(
                "live.approval",
                &[("provider", provider), ("tool", &md_plain(tool))],
            );
            if !preview.trim().is_empty() {
                markdown.push('\n');
                markdown.push_str(&fenced(preview));
            }
            let allow: Vec<Button> = [
                Decision::AllowOnce,
                Decision::AllowSession,
                Decision::AllowAlways,
            ]
            .into_iter()
            .filter(|d| choices.contains(d))
            .map(|d| decision_button(text, key, d))
            .collect();
            let mut rows = vec![allow];
            rows.push(vec![decision_button(text, key, Decision::Deny)]);
            rows.retain(|r| !r.is_empty());
            Reply::text(markdown).with_buttons(rows)
        }
        AskKind::Question { questions } => {
            let mut markdown = text.f("live.question", &[("provider", provider)]);
            for q in questions {
                markdown.push_str("\n\n");
                markdown.push_str(&md_plain(&q.text));
            }
            let mut buttons = Vec::new();
            if let [q] = questions.as_slice() {
                markdown.push_str("\n\n_");
                markdown.push_str(&text.t("live.question_hint"));
                markdown.push('_');
                for (i, label) in q.options.iter().enumerate().take(usize::from(u8::MAX)) {
                    let n = u8::try_from(i).unwrap_or(u8::MAX);
                    buttons.push(vec![Button::new(
                        label.clone(),
                        Action::Ask {
                            key: key.to_owned(),
                            choice: AskButton::Option(n),
                        },
                    )]);
                }
            } else {
                markdown.push_str("\n\n_");
                markdown.push_str(&text.t("live.questions_hint"));
                markdown.push('_');
            }
            Reply::text(markdown).with_buttons(buttons)
        }
    }
}

/// Text shown as is in Markdown (the CLI's words are not ductor's markup).
fn md_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '_' | '`' | '[' | ']' | '~' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a request's message says once it is over.
pub fn end_note(text: &Catalog, how: &AskEnd) -> String {
    match how {
        AskEnd::Decided { decision } => text.t(match decision {
            Decision::AllowOnce => "live.allowed_once",
            Decision::AllowSession => "live.allowed_session",
            Decision::AllowAlways => "live.allowed_always",
            Decision::Deny => "live.denied",
        }),
        AskEnd::Answered { answers } => {
            text.f("live.answered", &[("answer", &answers.join(" / "))])
        }
        AskEnd::Withdrawn => text.t("live.withdrawn"),
        AskEnd::TimedOut => text.t("live.timed_out"),
    }
}

/// A press on a request's button. The request's message is updated by the turn
/// when the CLI took the answer; a request that is gone says so in place.
pub async fn answer(ctx: &Ctx<'_>, key: &str, button: AskButton) -> Response {
    let choice = match button {
        AskButton::Once => AskChoice::Decision(Decision::AllowOnce),
        AskButton::Session => AskChoice::Decision(Decision::AllowSession),
        AskButton::Always => AskChoice::Decision(Decision::AllowAlways),
        AskButton::Deny => AskChoice::Decision(Decision::Deny),
        AskButton::Option(n) => AskChoice::Option(usize::from(n)),
    };
    let text = ctx.text();
    match ctx
        .core()
        .live
        .answer(key, choice, ctx.sender.id.as_deref())
        .await
    {
        Ok(()) => Response::none(),
        Err(AnswerError::NotYours) => Response {
            toast: Some(text.t("live.not_yours")),
            ..Response::none()
        },
        Err(AnswerError::Expired | AnswerError::Unfit) => Response {
            pressed: super::Pressed::Annotate(text.t("live.expired")),
            ..Response::none()
        },
    }
}

/// A message that answers the pending question of this conversation, if one waits
/// for its starter: `Some` when it was taken as the answer.
pub async fn free_text(ctx: &Ctx<'_>, message: &str) -> Option<Response> {
    let live = &ctx.core().live;
    let conversation = ctx.address.to_string();
    let who = ctx.sender.id.as_deref();
    let key = live.question_for(&conversation, who)?;
    live.answer(&key, AskChoice::Text(message.to_owned()), who)
        .await
        .ok()
        .map(|()| Response::none())
}

/// "Add to the running turn" on queued message `entry`: it leaves the queue and
/// goes to the running turn's CLI; when the CLI cannot take it, it stays queued.
pub async fn steer(ctx: &Ctx<'_>, entry: u64) -> Response {
    let core = ctx.core();
    let text = ctx.text();
    let conversation = ctx.address.to_string();
    if !core.live.can_steer(&conversation) {
        return Response {
            toast: Some(text.t("live.steer_failed")),
            ..Response::none()
        };
    }
    let Some(prompt) = core.conversations.take_queued(&ctx.address, entry).await else {
        return Response {
            pressed: super::Pressed::Annotate(text.t("queue.gone")),
            ..Response::none()
        };
    };
    if core.live.steer(&conversation, &prompt).await {
        return Response::replace(Reply::text(format!("_{}_", text.t("live.steered"))));
    }
    // The turn ended meanwhile: the message runs as the next turn after all.
    Response {
        toast: Some(text.t("live.steer_failed")),
        submit: Some(super::Submit {
            by: ctx.sender.id.clone(),
            ..super::Submit::main(prompt, ctx.message.clone())
        }),
        ..Response::none()
    }
}
