//! Model switching (§2.1 `/model`, `/effort`, §2.2 `ms:` buttons, §5.9 directives).
//!
//! The wizard shows only providers that are installed and logged in; a single one
//! skips straight to its models. A switch in a chat without topics changes the
//! agent's default (`config.json` for main, the `agents.json` entry for a sub-agent,
//! written by the supervisor) and this conversation; in a topic it changes only that
//! topic's session. Each provider keeps its own session: switching back resumes.

use super::{Action, Button, Buttons, Ctx, ModelStep, Reply, Response};
use crate::md;
use crate::provider::ProviderKind;
use crate::provider::directives::parse_directives;
use crate::provider::models::{ModelCatalogue, provider_for_model};
use crate::session::Lane;
use crate::session::store::{Target, default_target};
use serde_json::{Value, json};

/// Providers the wizard offers: installed and logged in.
fn available(ctx: &Ctx<'_>) -> Vec<ProviderKind> {
    crate::provider::auth::ready(&ctx.core().paths)
}

fn rows_of(buttons: &[Button], per_row: usize) -> Buttons {
    buttons
        .chunks(per_row.max(1))
        .map(<[Button]>::to_vec)
        .collect()
}

/// The provider menu.
fn providers_menu(ctx: &Ctx<'_>) -> Reply {
    let buttons: Vec<Button> = available(ctx)
        .into_iter()
        .map(|p| {
            Button::new(
                p.display_name().to_uppercase(),
                Action::Model(ModelStep::Provider(p)),
            )
        })
        .collect();
    Reply::text(ctx.text().t("model.pick_provider")).with_buttons(rows_of(&buttons, 2))
}

/// The model menu of `p`.
fn models_menu(ctx: &Ctx<'_>, p: ProviderKind, with_back: bool) -> Reply {
    let catalogue = &ctx.core().catalogue;
    let names: Vec<(String, String)> = match p {
        // One snapshot for ids and names: a refresh in between cannot mix two lists.
        ProviderKind::Codex => catalogue
            .codex_models()
            .iter()
            .map(|c| (c.id.clone(), c.display_name.clone()))
            .collect(),
        ProviderKind::Claude | ProviderKind::Gemini => catalogue
            .models(p)
            .into_iter()
            .map(|m| {
                let label = if p == ProviderKind::Claude {
                    m.to_uppercase()
                } else {
                    m.trim_start_matches("gemini-")
                        .trim_start_matches("auto-")
                        .to_owned()
                };
                (m, label)
            })
            .collect(),
    };
    let models: Vec<Button> = names
        .into_iter()
        .map(|(m, label)| Button::new(label, Action::Model(ModelStep::Model(m))))
        .filter(|b| b.action.fits())
        .collect();
    let per_row = if p == ProviderKind::Codex { 1 } else { 2 };
    let mut rows = rows_of(&models, per_row);
    if with_back {
        rows.push(vec![Button::new(
            ctx.text().t("model.back"),
            Action::Model(ModelStep::Back(None)),
        )]);
    }
    Reply::text(
        ctx.text()
            .f("model.pick_model", &[("provider", p.display_name())]),
    )
    .with_buttons(rows)
}

/// The effort menu for `model` of `p` (final step of the wizard).
fn efforts_menu(ctx: &Ctx<'_>, p: ProviderKind, model: &str) -> Reply {
    let efforts: Vec<Button> = ctx
        .core()
        .catalogue
        .efforts(p, model)
        .into_iter()
        .map(|e| {
            Button::new(
                e.clone(),
                Action::Model(ModelStep::ModelEffort {
                    effort: e,
                    model: model.to_owned(),
                }),
            )
        })
        .filter(|b| b.action.fits())
        .collect();
    let mut rows = rows_of(&efforts, 3);
    rows.push(vec![Button::new(
        ctx.text().t("model.back"),
        Action::Model(ModelStep::Back(Some(p))),
    )]);
    Reply::text(
        ctx.text()
            .f("model.pick_effort", &[("model", &md::escape(model))]),
    )
    .with_buttons(rows)
}

/// `/model` and `/model <name>`.
pub async fn command(ctx: &Ctx<'_>, args: &str) -> Response {
    if !args.trim().is_empty() {
        let name = args.split_whitespace().next().unwrap_or_default();
        let p = provider_for_model(name, &ctx.core().catalogue);
        return Response::say(switch(ctx, p, name, None).await);
    }
    let providers = available(ctx);
    Response::reply(match providers.as_slice() {
        [] => Reply::text(ctx.text().t("model.none_available")),
        [only] => models_menu(ctx, *only, false),
        _ => providers_menu(ctx),
    })
}

/// A press on the wizard or the `/effort` menu: the menu changes in place.
pub async fn action(ctx: &Ctx<'_>, step: ModelStep) -> Response {
    let catalogue = &ctx.core().catalogue;
    let reply = match step {
        ModelStep::Provider(p) | ModelStep::Back(Some(p)) => {
            models_menu(ctx, p, available(ctx).len() > 1)
        }
        ModelStep::Model(model) => {
            let Some(p) = known_model(catalogue, &model) else {
                return stale_model(ctx, &model);
            };
            if catalogue.efforts(p, &model).is_empty() {
                Reply::text(switch(ctx, p, &model, None).await)
            } else {
                efforts_menu(ctx, p, &model)
            }
        }
        ModelStep::ModelEffort { effort, model } => {
            let Some(p) = known_model(catalogue, &model) else {
                return stale_model(ctx, &model);
            };
            Reply::text(switch(ctx, p, &model, Some(&effort)).await)
        }
        ModelStep::Effort(effort) => Reply::text(set_effort(ctx, &effort)),
        ModelStep::Back(None) => providers_menu(ctx),
        ModelStep::Stale => Reply::text(ctx.text().t("model.stale")),
    };
    Response::replace(reply)
}

/// The provider of a model a button names, when the catalogue knows it: button data
/// can be forged, and what a button names is written to the config.
fn known_model(catalogue: &ModelCatalogue, model: &str) -> Option<ProviderKind> {
    let p = provider_for_model(model, catalogue);
    let plain = !model.is_empty()
        && model.len() <= 64
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c));
    (plain && catalogue.contains(p, model)).then_some(p)
}

fn stale_model(ctx: &Ctx<'_>, model: &str) -> Response {
    tracing::warn!(model, "a model button names no known model; ignored");
    Response::replace(Reply::text(ctx.text().t("model.stale")))
}

/// The effort a switch ends up with: the requested one if the model supports it,
/// else the current one if supported, else `medium` (none for gemini).
fn effective_effort(
    ctx: &Ctx<'_>,
    p: ProviderKind,
    model: &str,
    requested: Option<&str>,
    current: Option<&str>,
) -> Option<String> {
    let supported = ctx.core().catalogue.efforts(p, model);
    if supported.is_empty() {
        return None;
    }
    requested
        .or(current)
        .filter(|e| supported.iter().any(|s| s == e))
        .or_else(|| supported.iter().any(|s| s == "medium").then_some("medium"))
        .or_else(|| supported.first().map(String::as_str))
        .map(str::to_owned)
}

/// Switches this conversation (and, outside topics, the agent default) to `model` of
/// `p`; returns the summary (Markdown).
pub async fn switch(ctx: &Ctx<'_>, p: ProviderKind, model: &str, effort: Option<&str>) -> String {
    let core = ctx.core();
    let text = ctx.text();
    let sessions = &core.conversations.engine().sessions;
    let old = sessions
        .target(&ctx.address)
        .unwrap_or_else(|| default_target(&core.config.get()));
    let effort = effective_effort(ctx, p, model, effort, old.effort.as_deref());
    let new = Target {
        provider: p,
        model: model.to_owned(),
        effort: effort.clone(),
    };
    if new == old {
        return text.f("model.already", &[("model", &md::code(model))]);
    }
    sessions.set_target(&ctx.address, &new, chrono::Utc::now());
    if ctx.address.topic_id.is_none() {
        persist_default(ctx, &new).await;
    }
    let mut out = text.f(
        "model.switched",
        &[
            (
                "old",
                &md::escape(&format!("{} / {}", old.provider, old.model)),
            ),
            (
                "new",
                &md::escape(&format!("{} / {}", new.provider, new.model)),
            ),
        ],
    );
    if let Some(e) = &effort {
        out.push('\n');
        out.push_str(&text.f("model.effort_line", &[("effort", &md::escape(e))]));
    }
    let bucket = sessions
        .get(&ctx.address)
        .and_then(|r| r.provider_sessions.get(p.as_str()).cloned())
        .filter(|b| !b.session_id.is_empty());
    if let Some(b) = bucket.filter(|_| old.provider != p) {
        let sid: String = b.session_id.chars().take(8).collect();
        out.push('\n');
        out.push_str(&text.f(
            "model.resumes",
            &[
                ("sid", &md::code(&format!("{sid}..."))),
                ("count", &b.message_count.to_string()),
            ],
        ));
    }
    if core.conversations.is_running(&ctx.address, &Lane::Main) {
        out.push('\n');
        out.push_str(&text.t("model.busy"));
    }
    out
}

/// Writes the new default (main: `config.json`; sub-agent: its `agents.json` entry
/// through the supervisor) and applies it to the running agent.
async fn persist_default(ctx: &Ctx<'_>, t: &Target) {
    let core = ctx.core();
    let mut config = (*core.config.get()).clone();
    config.provider = t.provider.to_string();
    config.model.clone_from(&t.model);
    if let Some(e) = &t.effort {
        config.reasoning_effort.clone_from(e);
    }
    let effort_value = t.effort.clone().map_or(Value::Null, Value::String);
    if core.paths.is_main() {
        let mut updates = vec![("provider", json!(t.provider)), ("model", json!(t.model))];
        if t.effort.is_some() {
            updates.push(("reasoning_effort", effort_value));
        }
        let path = core.paths.config_file();
        let written = tokio::task::spawn_blocking(move || {
            crate::config::load::update_config_file(&path, &updates)
        })
        .await;
        match written {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(e) => tracing::error!(error = %e, "config writer task failed"),
        }
    } else if let Some(bus) = &core.bus {
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
    core.config.set(config);
}

/// `/effort`: buttons for the efforts of the conversation's model.
pub fn effort_command(ctx: &Ctx<'_>) -> Response {
    let t = super::status::session_target(ctx);
    let efforts = ctx.core().catalogue.efforts(t.provider, &t.model);
    let text = ctx.text();
    if efforts.is_empty() {
        return Response::say(text.f(
            "model.no_effort",
            &[("provider", t.provider.display_name())],
        ));
    }
    let buttons: Vec<Button> = efforts
        .into_iter()
        .map(|e| {
            let label = if Some(e.as_str()) == t.effort.as_deref() {
                format!("• {e}")
            } else {
                e.clone()
            };
            Button::new(label, Action::Model(ModelStep::Effort(e)))
        })
        .collect();
    Response::reply(
        Reply::text(text.f("model.pick_effort", &[("model", &md::escape(&t.model))]))
            .with_buttons(rows_of(&buttons, 3)),
    )
}

fn set_effort(ctx: &Ctx<'_>, effort: &str) -> String {
    let mut t = super::status::session_target(ctx);
    let supported = ctx.core().catalogue.efforts(t.provider, &t.model);
    let e = if supported.iter().any(|s| s == effort) {
        effort
    } else {
        "medium"
    };
    t.effort = Some(e.to_owned());
    ctx.core()
        .conversations
        .engine()
        .sessions
        .set_target(&ctx.address, &t, chrono::Utc::now());
    ctx.text()
        .f("model.effort_set", &[("effort", &md::escape(e))])
}

/// A one-turn provider/model from `@model`/`@provider` directives.
pub fn directive_target(
    ctx: &Ctx<'_>,
    p: Option<ProviderKind>,
    model: Option<&str>,
) -> Option<Target> {
    let core = ctx.core();
    let config = core.config.get();
    let p = p.or_else(|| model.map(|m| provider_for_model(m, &core.catalogue)))?;
    let configured: Option<ProviderKind> = config.provider.parse().ok();
    let model = match model {
        Some(m) => m.to_owned(),
        None if configured == Some(p) => config.model.clone(),
        None => core.catalogue.default_model(p).unwrap_or_default(),
    };
    let effort = effective_effort(ctx, p, &model, None, Some(&config.reasoning_effort));
    Some(Target {
        provider: p,
        model,
        effort,
    })
}

/// What leading `@model`/`@provider` directives make of a message.
pub enum Directed {
    /// No directive: the text as it is.
    Plain,
    /// Only directives: the answer says what the next message would use.
    Only(String),
    /// A turn with the rest of the text on this target.
    Turn(String, Target),
}

/// Leading `@model`/`@provider` directives of `text`.
pub fn directives(ctx: &Ctx<'_>, text: &str) -> Directed {
    if !text.trim_start().starts_with('@') {
        return Directed::Plain;
    }
    let known = ctx.core().catalogue.known_ids();
    let d = parse_directives(text, &known);
    if d.provider_override.is_none() && d.model_override.is_none() {
        return Directed::Plain;
    }
    let Some(target) = directive_target(ctx, d.provider_override, d.model_override.as_deref())
    else {
        return Directed::Plain;
    };
    if d.is_directive_only {
        let name = if target.model.is_empty() {
            target.provider.to_string()
        } else {
            target.model.clone()
        };
        return Directed::Only(
            ctx.text()
                .f("model.next_uses", &[("model", &md::escape(&name))]),
        );
    }
    Directed::Turn(d.text, target)
}
