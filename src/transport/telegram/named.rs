//! Named sessions in the chat (§7.1): `/session [@provider|@model] <prompt>` starts
//! one in the background, `/session @name <prompt>` sends it a background
//! follow-up, `@name <message>` continues it here with a streamed answer, and
//! `/sessions` lists and ends them. Result buttons (`ns:<name>:<label>`) are
//! follow-ups in their session; `/sessions` buttons are `nsc:r`, `nsc:end:<name>`
//! and `nsc:endall`. Sessions belong to a chat **and** topic.

use super::commands::reply;
use super::dispatch::{key_of, submit_named};
use super::format::escape_html;
use super::incoming::Incoming;
use super::{Telegram, model};
use crate::named::registry::{CreateError, Scope};
use crate::named::{MAX_BACKGROUND_PER_CHAT, NamedSessions, names, run};
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
use std::fmt::Write as _;
use std::sync::Arc;

fn scope_of(key: &SessionKey) -> Scope {
    Scope {
        chat_id: key.chat_id,
        topic_id: key.topic_id,
    }
}

/// Splits `@word rest` into `(word, rest)`.
fn at_word(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start().strip_prefix('@')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let word = &rest[..end];
    (!word.is_empty()).then(|| (word, rest[end..].trim()))
}

/// `@name rest` when `name` is a session of this conversation: `(stored name, rest)`.
pub fn addressed(tg: &Telegram, key: &SessionKey, text: &str) -> Option<(String, String)> {
    let (word, rest) = at_word(text)?;
    let record = tg.env().named.registry.get(scope_of(key), word)?;
    Some((record.name, rest.to_owned()))
}

/// A streamed follow-up `text` in session `name`; refused while it runs.
pub async fn follow_up(
    tg: &Arc<Telegram>,
    key: SessionKey,
    reply_to: Option<i64>,
    name: &str,
    text: String,
) {
    let env = tg.env();
    let scope = scope_of(&key);
    let say = |html: String| {
        let target = ChatTarget {
            chat_id: key.chat_id,
            thread_id: key.topic_id,
        };
        let api = tg.api.clone();
        async move {
            if let Err(e) = api
                .send(target, OutMessage::html(html).replying_to(reply_to))
                .await
            {
                tracing::warn!(error = %e, "cannot answer a session follow-up");
            }
        }
    };
    let Some(record) = env.named.registry.get(scope, name) else {
        say(tg
            .text()
            .f("named.unknown", &[("name", &escape_html(name))]))
        .await;
        return;
    };
    if env.named.is_running(scope, name) {
        say(tg
            .text()
            .f("named.still_running", &[("name", &escape_html(name))]))
        .await;
        return;
    }
    if text.trim().is_empty() {
        say(tg.text().t("named.usage")).await;
        return;
    }
    let provider = run::target_of(&record).provider;
    submit_named(tg, key, reply_to, text, &record.name, provider.as_str()).await;
}

/// `/session …`.
pub async fn session_command(tg: &Arc<Telegram>, inc: &Incoming, args: &str) {
    let env = tg.env();
    let text = tg.text();
    let key = key_of(inc);
    let scope = scope_of(&key);
    let args = args.trim();
    if args.is_empty() {
        reply(tg, inc, text.t("named.usage"), None).await;
        return;
    }
    if let Some((word, prompt)) = at_word(args)
        && let Some(record) = env.named.registry.get(scope, word)
    {
        if prompt.is_empty() {
            reply(tg, inc, text.t("named.usage"), None).await;
            return;
        }
        let Some(slot) = NamedSessions::background_slot(env, inc.chat_id) else {
            too_many_background(tg, inc).await;
            return;
        };
        let html = text.f(
            "named.follow_up_queued",
            &[("name", &escape_html(&record.name))],
        );
        reply(tg, inc, html, None).await;
        run::spawn_background(
            env.clone(),
            slot,
            scope,
            record.name,
            prompt.to_owned(),
            Some(inc.message_id),
        );
        return;
    }
    let known = env.catalogue.known_ids();
    let d = crate::provider::directives::parse_directives(args, &known);
    let (prompt, target) =
        match model::directive_target(tg, d.provider_override, d.model_override.as_deref()) {
            Some(t) => (d.text, t),
            None => (args.to_owned(), env.default_target(&env.config())),
        };
    if prompt.trim().is_empty() {
        reply(tg, inc, text.t("named.usage"), None).await;
        return;
    }
    let Some(slot) = NamedSessions::background_slot(env, inc.chat_id) else {
        too_many_background(tg, inc).await;
        return;
    };
    let registry = &env.named.registry;
    let name = names::generate(|n| registry.exists(scope, n));
    if let Err(CreateError::TooMany(max)) = registry.create(scope, &name, &target, &prompt) {
        let html = text.f("named.too_many", &[("max", &max.to_string())]);
        reply(tg, inc, html, None).await;
        return;
    }
    let model = if target.model.is_empty() {
        "default".to_owned()
    } else {
        target.model.clone()
    };
    let html = text.f(
        "named.started",
        &[
            ("name", &name),
            ("provider", target.provider.display_name()),
            ("model", &escape_html(&model)),
        ],
    );
    reply(tg, inc, html, None).await;
    run::spawn_background(env.clone(), slot, scope, name, prompt, Some(inc.message_id));
}

async fn too_many_background(tg: &Telegram, inc: &Incoming) {
    let html = tg.text().f(
        "named.too_many_background",
        &[("max", &MAX_BACKGROUND_PER_CHAT.to_string())],
    );
    reply(tg, inc, html, None).await;
}

/// The `/sessions` list and its keyboard.
fn manager(tg: &Telegram, key: &SessionKey) -> (String, Option<Vec<Vec<Button>>>) {
    let env = tg.env();
    let text = tg.text();
    let scope = scope_of(key);
    let sessions = env.named.registry.list(scope);
    if sessions.is_empty() {
        return (text.t("named.list_empty"), None);
    }
    let mut out = text.t("named.list_title");
    let mut rows = Vec::new();
    for r in &sessions {
        let running = env.named.is_running(scope, &r.name);
        let glyph = if running { "▶" } else { "⏸" };
        let preview: String = r.prompt_preview.chars().take(60).collect();
        let _ = write!(
            out,
            "\n{}",
            text.f(
                "named.list_line",
                &[
                    ("glyph", glyph),
                    ("name", &escape_html(&r.name)),
                    ("provider", &escape_html(&r.provider)),
                    ("model", &escape_html(&r.model)),
                    ("messages", &r.message_count.to_string()),
                    ("preview", &escape_html(&preview)),
                ],
            )
        );
        rows.push(vec![Button {
            label: text.f("named.end_button", &[("name", &r.name)]),
            data: format!("nsc:end:{}", r.name),
        }]);
    }
    rows.push(vec![
        Button {
            label: text.t("named.end_all_button"),
            data: "nsc:endall".into(),
        },
        Button {
            label: text.t("named.refresh_button"),
            data: "nsc:r".into(),
        },
    ]);
    (out, Some(rows))
}

/// `/sessions`.
pub async fn sessions_command(tg: &Telegram, inc: &Incoming) {
    let (html, keyboard) = manager(tg, &key_of(inc));
    reply(tg, inc, html, keyboard).await;
}

/// An `ns:` (result button) or `nsc:` (`/sessions`) press on `message_id`.
pub async fn callback(
    tg: &Arc<Telegram>,
    key: SessionKey,
    target: ChatTarget,
    message_id: i64,
    data: &str,
) {
    let env = tg.env();
    let scope = scope_of(&key);
    if let Some(rest) = data.strip_prefix("ns:") {
        let Some((name, label)) = rest.split_once(':') else {
            return;
        };
        follow_up(tg, key, Some(message_id), name, label.to_owned()).await;
        return;
    }
    let Some(action) = data.strip_prefix("nsc:") else {
        return;
    };
    let note = if let Some(name) = action.strip_prefix("end:") {
        // A streamed `@name` follow-up runs in the conversation's actor, not in the background.
        tg.sessions.stop_named(&key, Some(name)).await;
        env.named
            .end(&env.background, scope, name)
            .then(|| tg.text().f("named.ended", &[("name", &escape_html(name))]))
    } else if action == "endall" {
        tg.sessions.stop_named(&key, None).await;
        let names: Vec<String> = env
            .named
            .registry
            .list(scope)
            .into_iter()
            .map(|r| r.name)
            .collect();
        let n = names
            .iter()
            .filter(|n| env.named.end(&env.background, scope, n))
            .count();
        Some(tg.text().f("named.ended_all", &[("count", &n.to_string())]))
    } else {
        None
    };
    let (mut html, keyboard) = manager(tg, &key);
    if let Some(n) = note {
        html = format!("{n}\n\n{html}");
    }
    let msg = OutMessage::html(html).with_keyboard(keyboard);
    if let Err(e) = tg.api.edit(target, message_id, msg).await {
        tracing::debug!(error = %e, "cannot update the sessions list");
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
