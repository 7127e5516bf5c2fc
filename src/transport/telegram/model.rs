//! Model switching (§2.1 `/model`, `/effort`, §2.2 `ms:` callbacks, §5.9 directives).
//!
//! The wizard shows only providers that are installed and logged in; a single one
//! skips straight to its models. A switch in a private chat or group changes the
//! agent's default (`config.json` for main, the `agents.json` entry for a sub-agent,
//! written by the supervisor) and this conversation; in a forum topic it changes only
//! that topic's session. Each provider keeps its own session: switching back resumes.

use super::Telegram;
use super::dispatch::key_of;
use super::format::escape_html;
use super::incoming::Incoming;
use crate::provider::ProviderKind;
use crate::session::store::Target;
use crate::state::sessions::SessionKey;
use crate::transport::chat_api::{Button, ChatApi, ChatTarget, OutMessage};
use serde_json::{Value, json};

/// Providers the wizard offers: installed and logged in.
pub fn available(tg: &Telegram) -> Vec<ProviderKind> {
    crate::agent::cli_run::provider_auth(&tg.env().paths)
        .into_iter()
        .filter(|(_, s)| s.is_authenticated())
        .map(|(p, _)| p)
        .collect()
}

fn button(label: impl Into<String>, data: String) -> Button {
    Button {
        label: label.into(),
        data,
    }
}

fn rows_of(buttons: &[Button], per_row: usize) -> Vec<Vec<Button>> {
    buttons
        .chunks(per_row.max(1))
        .map(<[Button]>::to_vec)
        .collect()
}

/// The provider menu.
fn providers_menu(tg: &Telegram) -> (String, Vec<Vec<Button>>) {
    let text = tg.text();
    let buttons: Vec<Button> = available(tg)
        .into_iter()
        .map(|p| button(p.display_name().to_uppercase(), format!("ms:p:{p}")))
        .collect();
    (text.t("model.pick_provider"), rows_of(&buttons, 2))
}

/// The model menu of `p`.
fn models_menu(tg: &Telegram, p: ProviderKind, with_back: bool) -> (String, Vec<Vec<Button>>) {
    let text = tg.text();
    let catalogue = &tg.env().catalogue;
    let models: Vec<Button> = catalogue
        .models(p)
        .into_iter()
        .filter(|m| format!("ms:m:{m}").len() <= 64)
        .map(|m| {
            let label = match p {
                ProviderKind::Claude => m.to_uppercase(),
                ProviderKind::Gemini => m
                    .trim_start_matches("gemini-")
                    .trim_start_matches("auto-")
                    .to_owned(),
                ProviderKind::Codex => catalogue
                    .codex
                    .iter()
                    .find(|c| c.id == m)
                    .map_or_else(|| m.to_owned(), |c| c.display_name.clone()),
            };
            button(label, format!("ms:m:{m}"))
        })
        .collect();
    let per_row = if p == ProviderKind::Codex { 1 } else { 2 };
    let mut rows = rows_of(&models, per_row);
    if with_back {
        rows.push(vec![button(text.t("model.back"), "ms:b:root".into())]);
    }
    (
        text.f("model.pick_model", &[("provider", p.display_name())]),
        rows,
    )
}

/// The effort menu for `model` of `p` (final step of the wizard).
fn efforts_menu(tg: &Telegram, p: ProviderKind, model: &str) -> (String, Vec<Vec<Button>>) {
    let text = tg.text();
    let efforts: Vec<Button> = tg
        .env()
        .catalogue
        .efforts(p, model)
        .into_iter()
        .map(|e| button(e.to_owned(), format!("ms:r:{e}:{model}")))
        .filter(|b| b.data.len() <= 64)
        .collect();
    let mut rows = rows_of(&efforts, 3);
    rows.push(vec![button(text.t("model.back"), format!("ms:b:{p}"))]);
    (text.f("model.pick_effort", &[("model", model)]), rows)
}

/// `/model` and `/model <name>`.
pub async fn command(tg: &Telegram, inc: &Incoming, args: &str) {
    let target = ChatTarget {
        chat_id: inc.chat_id,
        thread_id: inc.thread_id,
    };
    if !args.trim().is_empty() {
        let name = args.split_whitespace().next().unwrap_or_default();
        let p = crate::provider::models::provider_for_model(name, &tg.env().catalogue);
        let summary = switch(tg, &key_of(inc), p, name, None).await;
        send(tg, target, Some(inc.message_id), summary, None).await;
        return;
    }
    let providers = available(tg);
    let (html, rows) = match providers.as_slice() {
        [] => (tg.text().t("model.none_available"), Vec::new()),
        [only] => models_menu(tg, *only, false),
        _ => providers_menu(tg),
    };
    send(tg, target, Some(inc.message_id), html, Some(rows)).await;
}

async fn send(
    tg: &Telegram,
    target: ChatTarget,
    reply_to: Option<i64>,
    html: String,
    rows: Option<Vec<Vec<Button>>>,
) {
    let msg = OutMessage::html(html)
        .replying_to(reply_to)
        .with_keyboard(rows);
    if let Err(e) = tg.api.send(target, msg).await {
        tracing::warn!(error = %e, "cannot send the model menu");
    }
}

async fn edit(
    tg: &Telegram,
    target: ChatTarget,
    id: i64,
    html: String,
    rows: Option<Vec<Vec<Button>>>,
) {
    let msg = OutMessage::html(html).with_keyboard(rows);
    match tg.api.edit(target, id, msg).await {
        Ok(()) | Err(crate::transport::chat_api::ApiError::NotModified) => {}
        Err(e) => tracing::warn!(error = %e, "cannot update the model menu"),
    }
}

/// An `ms:` button press on message `id`.
pub async fn callback(tg: &Telegram, key: &SessionKey, target: ChatTarget, id: i64, data: &str) {
    let parts: Vec<&str> = data.splitn(3, ':').collect();
    match parts.as_slice() {
        ["ms", "p", p] => match p.parse::<ProviderKind>() {
            Ok(p) => {
                let (html, rows) = models_menu(tg, p, available(tg).len() > 1);
                edit(tg, target, id, html, Some(rows)).await;
            }
            Err(_) => edit(tg, target, id, tg.text().t("model.stale"), None).await,
        },
        ["ms", "m", model] => {
            let p = crate::provider::models::provider_for_model(model, &tg.env().catalogue);
            if tg.env().catalogue.efforts(p, model).is_empty() {
                let summary = switch(tg, key, p, model, None).await;
                edit(tg, target, id, summary, None).await;
            } else {
                let (html, rows) = efforts_menu(tg, p, model);
                edit(tg, target, id, html, Some(rows)).await;
            }
        }
        ["ms", "r", rest] => {
            let (effort, model) = rest.split_once(':').unwrap_or((rest, ""));
            let p = crate::provider::models::provider_for_model(model, &tg.env().catalogue);
            let summary = switch(tg, key, p, model, Some(effort)).await;
            edit(tg, target, id, summary, None).await;
        }
        ["ms", "e", effort] => {
            let summary = set_effort(tg, key, effort);
            edit(tg, target, id, summary, None).await;
        }
        ["ms", "b", "root"] => {
            let (html, rows) = providers_menu(tg);
            edit(tg, target, id, html, Some(rows)).await;
        }
        ["ms", "b", p] => {
            if let Ok(p) = p.parse::<ProviderKind>() {
                let (html, rows) = models_menu(tg, p, available(tg).len() > 1);
                edit(tg, target, id, html, Some(rows)).await;
            }
        }
        _ => edit(tg, target, id, tg.text().t("model.stale"), None).await,
    }
}

/// The effort a switch ends up with: the requested one if the model supports it,
/// else the current one if supported, else `medium` (none for gemini).
fn effective_effort(
    tg: &Telegram,
    p: ProviderKind,
    model: &str,
    requested: Option<&str>,
    current: Option<&str>,
) -> Option<String> {
    let supported = tg.env().catalogue.efforts(p, model);
    if supported.is_empty() {
        return None;
    }
    requested
        .or(current)
        .filter(|e| supported.contains(e))
        .or_else(|| supported.contains(&"medium").then_some("medium"))
        .or_else(|| supported.first().copied())
        .map(str::to_owned)
}

/// Switches conversation `key` (and, outside forum topics, the agent default) to
/// `model` of `p`; returns the summary (HTML).
pub async fn switch(
    tg: &Telegram,
    key: &SessionKey,
    p: ProviderKind,
    model: &str,
    effort: Option<&str>,
) -> String {
    let env = tg.env();
    let text = tg.text();
    let config = env.config();
    let old = env
        .sessions
        .target(key)
        .unwrap_or_else(|| env.default_target(&config));
    let effort = effective_effort(tg, p, model, effort, old.effort.as_deref());
    let new = Target {
        provider: p,
        model: model.to_owned(),
        effort: effort.clone(),
    };
    if new == old {
        return text.f("model.already", &[("model", &escape_html(model))]);
    }
    env.sessions.set_target(key, &new, chrono::Utc::now());
    if key.topic_id.is_none() {
        persist_default(tg, &new).await;
    }
    let mut out = text.f(
        "model.switched",
        &[
            (
                "old",
                &escape_html(&format!("{} / {}", old.provider, old.model)),
            ),
            (
                "new",
                &escape_html(&format!("{} / {}", new.provider, new.model)),
            ),
        ],
    );
    if let Some(e) = &effort {
        out.push('\n');
        out.push_str(&text.f("model.effort_line", &[("effort", &escape_html(e))]));
    }
    let bucket = env
        .sessions
        .get(key)
        .and_then(|r| r.provider_sessions.get(p.as_str()).cloned())
        .filter(|b| !b.session_id.is_empty());
    if let Some(b) = bucket.filter(|_| old.provider != p) {
        let sid: String = b.session_id.chars().take(8).collect();
        out.push('\n');
        out.push_str(&text.f(
            "model.resumes",
            &[("sid", &sid), ("count", &b.message_count.to_string())],
        ));
    }
    if tg.sessions.is_busy(key).await {
        out.push('\n');
        out.push_str(&text.t("model.busy"));
    }
    out
}

/// Writes the new default (main: `config.json`; sub-agent: its `agents.json` entry
/// through the supervisor) and applies it to the running agent.
async fn persist_default(tg: &Telegram, t: &Target) {
    let env = tg.env();
    let mut config = (*env.config()).clone();
    config.provider = t.provider.to_string();
    config.model.clone_from(&t.model);
    if let Some(e) = &t.effort {
        config.reasoning_effort.clone_from(e);
    }
    let effort_value = t.effort.clone().map_or(Value::Null, Value::String);
    if env.paths.is_main() {
        let mut updates = vec![("provider", json!(t.provider)), ("model", json!(t.model))];
        if t.effort.is_some() {
            updates.push(("reasoning_effort", effort_value));
        }
        if let Err(e) = crate::config::load::update_config_file(&env.paths.config_file(), &updates)
        {
            tracing::error!("{e}");
        }
    } else if let Some(bus) = &tg.bus {
        let mut set = serde_json::Map::new();
        set.insert("provider".into(), json!(t.provider));
        set.insert("model".into(), json!(t.model));
        let mut remove = Vec::new();
        match t.effort {
            Some(_) => {
                set.insert("reasoning_effort".into(), effort_value);
            }
            None => remove.push("reasoning_effort".to_owned()),
        }
        let body = crate::ipc::Body::UpdateAgent(crate::ipc::message::UpdateAgent { set, remove });
        if let Err(e) = bus
            .request(None, body, std::time::Duration::from_secs(5))
            .await
        {
            tracing::error!(error = %e, "cannot save the model in agents.json");
        }
    }
    env.set_config(config);
}

/// `/effort`: buttons for the efforts of the conversation's model.
pub async fn effort_command(tg: &Telegram, inc: &Incoming) {
    let env = tg.env();
    let key = key_of(inc);
    let t = env
        .sessions
        .target(&key)
        .unwrap_or_else(|| env.default_target(&env.config()));
    let efforts = env.catalogue.efforts(t.provider, &t.model);
    let text = tg.text();
    let target = ChatTarget {
        chat_id: inc.chat_id,
        thread_id: inc.thread_id,
    };
    if efforts.is_empty() {
        let html = text.f(
            "model.no_effort",
            &[("provider", t.provider.display_name())],
        );
        send(tg, target, Some(inc.message_id), html, None).await;
        return;
    }
    let buttons: Vec<Button> = efforts
        .into_iter()
        .map(|e| {
            let label = if Some(e) == t.effort.as_deref() {
                format!("• {e}")
            } else {
                e.to_owned()
            };
            button(label, format!("ms:e:{e}"))
        })
        .collect();
    let html = text.f("model.pick_effort", &[("model", &escape_html(&t.model))]);
    send(
        tg,
        target,
        Some(inc.message_id),
        html,
        Some(rows_of(&buttons, 3)),
    )
    .await;
}

fn set_effort(tg: &Telegram, key: &SessionKey, effort: &str) -> String {
    let env = tg.env();
    let mut t = env
        .sessions
        .target(key)
        .unwrap_or_else(|| env.default_target(&env.config()));
    let supported = env.catalogue.efforts(t.provider, &t.model);
    let e = if supported.contains(&effort) {
        effort
    } else {
        "medium"
    };
    t.effort = Some(e.to_owned());
    env.sessions.set_target(key, &t, chrono::Utc::now());
    tg.text().f("model.effort_set", &[("effort", e)])
}

/// A one-turn provider/model from `@model`/`@provider` directives.
pub fn directive_target(
    tg: &Telegram,
    p: Option<ProviderKind>,
    model: Option<&str>,
) -> Option<Target> {
    let env = tg.env();
    let config = env.config();
    let p = p.or_else(|| {
        model.map(|m| crate::provider::models::provider_for_model(m, &env.catalogue))
    })?;
    let configured: Option<ProviderKind> = config.provider.parse().ok();
    let model = match model {
        Some(m) => m.to_owned(),
        None if configured == Some(p) => config.model.clone(),
        None => env
            .catalogue
            .default_model(p)
            .unwrap_or_default()
            .to_owned(),
    };
    let effort = effective_effort(tg, p, &model, None, Some(&config.reasoning_effort));
    Some(Target {
        provider: p,
        model,
        effort,
    })
}
