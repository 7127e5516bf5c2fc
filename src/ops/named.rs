//! Named sessions in the chat (§7.1): `/session [@provider|@model] <prompt>` starts
//! one in the background, `/session @name <prompt>` sends it a background
//! follow-up, `@name <message>` continues it here with a streamed answer, and
//! `/sessions` lists and ends them (and lists the chat's forum topics with their own
//! sessions). A result's buttons are follow-ups in its session.

use super::{Action, Button, Ctx, Pressed, Reply, Response, Submit};
use crate::md;
use crate::named::NamedError;
use crate::provider::directives::parse_directives;
use crate::session::Lane;
use crate::session::store::default_target;
use std::fmt::Write as _;

/// Splits `@word rest` into `(word, rest)`.
fn at_word(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start().strip_prefix('@')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let word = &rest[..end];
    (!word.is_empty()).then(|| (word, rest[end..].trim()))
}

/// The sentence for a refusal.
fn refusal(ctx: &Ctx<'_>, e: &NamedError) -> String {
    let text = ctx.text();
    match e {
        NamedError::Unknown(name) => text.f("named.unknown", &[("name", &md::escape(name))]),
        NamedError::Busy(name) => text.f("named.still_running", &[("name", &md::escape(name))]),
        NamedError::TooMany(max) => text.f("named.too_many", &[("max", &max.to_string())]),
        NamedError::TooManyBackground(max) => {
            text.f("named.too_many_background", &[("max", &max.to_string())])
        }
        NamedError::EmptyPrompt => text.t("named.usage"),
    }
}

/// A streamed follow-up `prompt` in session `name`, replying to the message; refused
/// while the session runs.
fn follow_up(ctx: &Ctx<'_>, name: &str, prompt: String) -> Response {
    match ctx.core().named.check_follow_up(&ctx.address, name) {
        Err(e) => Response::say(refusal(ctx, &e)),
        Ok(_) if prompt.trim().is_empty() => Response::say(ctx.text().t("named.usage")),
        Ok(record) => {
            let provider = crate::named::target_of(&record).provider;
            Response::run(Submit {
                lane: Lane::named(&record.name),
                tag: Some(format!("**[{} | {provider}]**", md::escape(&record.name))),
                ..Submit::main(prompt, ctx.message.clone())
            })
        }
    }
}

/// `@name rest` when `name` is a session of this conversation.
pub fn addressed(ctx: &Ctx<'_>, text: &str, origin: &super::Origin) -> Option<Response> {
    let (word, rest) = at_word(text)?;
    let record = ctx.core().named.get(&ctx.address, word)?;
    Some(follow_up(ctx, &record.name, super::framed(origin, rest)))
}

/// `/session …`.
pub async fn session_command(ctx: &Ctx<'_>, args: &str) -> Response {
    let core = ctx.core();
    let text = ctx.text();
    let args = args.trim();
    if args.is_empty() {
        return Response::say(text.t("named.usage"));
    }
    if let Some((word, prompt)) = at_word(args)
        && let Some(record) = core.named.get(&ctx.address, word)
    {
        if prompt.is_empty() {
            return Response::say(text.t("named.usage"));
        }
        return match core
            .named
            .follow_up_background(&ctx.address, &record.name, prompt, ctx.message.clone())
            .await
        {
            Ok(r) => {
                Response::say(text.f("named.follow_up_queued", &[("name", &md::escape(&r.name))]))
            }
            Err(e) => Response::say(refusal(ctx, &e)),
        };
    }
    let known = core.catalogue.known_ids();
    let d = parse_directives(args, &known);
    let (prompt, target) =
        match super::model::directive_target(ctx, d.provider_override, d.model_override.as_deref())
        {
            Some(t) => (d.text, t),
            None => (args.to_owned(), default_target(&core.config.get())),
        };
    if prompt.trim().is_empty() {
        return Response::say(text.t("named.usage"));
    }
    match core
        .named
        .start(&ctx.address, &target, &prompt, ctx.message.clone())
        .await
    {
        Ok(record) => {
            let model = if target.model.is_empty() {
                "default".to_owned()
            } else {
                target.model.clone()
            };
            Response::say(text.f(
                "named.started",
                &[
                    ("name", &record.name),
                    ("provider", target.provider.display_name()),
                    ("model", &md::escape(&model)),
                ],
            ))
        }
        Err(e) => Response::say(refusal(ctx, &e)),
    }
}

/// The `/sessions` list and its buttons: the named sessions of this conversation,
/// then the forum topics of this chat with their own sessions.
fn manager(ctx: &Ctx<'_>) -> Reply {
    let core = ctx.core();
    let text = ctx.text();
    let sessions = core.named.registry().list(&ctx.address);
    let topics = topic_lines(ctx);
    if sessions.is_empty() && topics.is_empty() {
        return Reply::text(text.t("named.list_empty"));
    }
    let mut out = text.t("named.list_title");
    let mut rows = Vec::new();
    if sessions.is_empty() {
        let _ = write!(out, "\n{}", text.t("named.list_empty"));
    }
    for r in &sessions {
        let running = core
            .conversations
            .is_running(&ctx.address, &Lane::named(&r.name));
        let glyph = if running { "▶" } else { "⏸" };
        let preview: String = r.prompt_preview.chars().take(60).collect();
        let _ = write!(
            out,
            "\n{}",
            text.f(
                "named.list_line",
                &[
                    ("glyph", glyph),
                    ("name", &md::escape(&r.name)),
                    ("provider", &md::escape(&r.provider)),
                    ("model", &md::escape(&r.model)),
                    ("messages", &r.message_count.to_string()),
                    ("preview", &md::one_line(&preview)),
                ],
            )
        );
        rows.push(vec![Button::new(
            text.f("named.end_button", &[("name", &r.name)]),
            Action::SessionEnd(r.name.clone()),
        )]);
    }
    if !topics.is_empty() {
        let _ = write!(out, "\n\n{}", text.t("named.topics_title"));
        for line in topics {
            let _ = write!(out, "\n{line}");
        }
    }
    let mut last = Vec::new();
    if !sessions.is_empty() {
        last.push(Button::new(
            text.t("named.end_all_button"),
            Action::SessionsEndAll,
        ));
    }
    last.push(Button::new(
        text.t("named.refresh_button"),
        Action::SessionsRefresh,
    ));
    rows.push(last);
    Reply::text(out).with_buttons(rows)
}

/// One line per forum topic of this chat with a session: its name, provider/model
/// (the configured ones until its first turn), messages in the active provider's
/// session, and how long ago it was last active.
fn topic_lines(ctx: &Ctx<'_>) -> Vec<String> {
    let core = ctx.core();
    let text = ctx.text();
    let default = default_target(&core.config.get());
    let now = chrono::Utc::now();
    core.conversations
        .engine()
        .sessions
        .topics(&ctx.address)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let provider = r
                .provider
                .parse::<crate::provider::ProviderKind>()
                .unwrap_or(default.provider);
            let model = if r.model.is_empty() {
                default.model.clone()
            } else {
                r.model.clone()
            };
            let messages = r
                .provider_sessions
                .get(provider.as_str())
                .map_or(0, |b| b.message_count);
            let idle = crate::session::freshness::parse_time(&r.last_active)
                .and_then(|t| (now - t).to_std().ok())
                .unwrap_or_default();
            let address = crate::address::Address::new(&r.transport, r.chat_id, r.topic_id);
            text.f(
                "named.topic_line",
                &[
                    ("n", &(i + 1).to_string()),
                    ("topic", &super::status::topic_label(ctx, &address)),
                    ("provider", provider.display_name()),
                    ("model", &md::escape(&model)),
                    ("messages", &messages.to_string()),
                    ("age", &super::status::age(idle)),
                ],
            )
        })
        .collect()
}

/// `/sessions`.
pub fn sessions_command(ctx: &Ctx<'_>) -> Response {
    Response::reply(manager(ctx))
}

/// A press on the `/sessions` list: end one or all, or refresh; the list is redrawn.
pub async fn manager_action(ctx: &Ctx<'_>, action: &Action) -> Response {
    let named = &ctx.core().named;
    let note = match action {
        Action::SessionEnd(name) => named
            .end(&ctx.address, name)
            .await
            .then(|| ctx.text().f("named.ended", &[("name", &md::escape(name))])),
        Action::SessionsEndAll => {
            let n = named.end_all(&ctx.address).await;
            Some(
                ctx.text()
                    .f("named.ended_all", &[("count", &n.to_string())]),
            )
        }
        _ => None,
    };
    let mut reply = manager(ctx);
    if let Some(n) = note {
        reply.markdown = format!("{n}\n\n{}", reply.markdown);
    }
    Response::replace(reply)
}

/// A button of a session's result: the label goes to that session as a streamed
/// follow-up; the pressed message shows the choice.
pub fn button(ctx: &Ctx<'_>, name: &str, label: String) -> Response {
    let note = ctx.text().f("session.user_answer", &[("label", &label)]);
    Response {
        pressed: Pressed::Annotate(note),
        ..follow_up(ctx, name, label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_words_split_name_and_rest() {
        assert_eq!(at_word("@redowl  go on"), Some(("redowl", "go on")));
        assert_eq!(at_word("@redowl"), Some(("redowl", "")));
        assert_eq!(at_word("hello @redowl"), None);
        assert_eq!(at_word("@ x"), None);
    }
}
