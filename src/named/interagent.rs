//! Requests between agents (§7.3). The receiving agent answers an `ask` in an
//! inter-agent session per (sender, chat, topic), non-streaming; an asynchronous
//! request reports back with `ask_result`, which the asking agent injects into the
//! chat the request came from (through the session actor, never beside a running
//! turn).

use super::registry::Scope;
use super::run::{RunResult, run_in_session};
use crate::agent::cli_run::TimeoutKind;
use crate::ipc::message::{Answer, Ask, AskResult};
use crate::session::TurnEnv;
use crate::session::outbox::Outgoing;
use crate::state::sessions::SessionKey;
use tokio_util::sync::CancellationToken;

/// Longest request preview in notices.
const PREVIEW_CHARS: usize = 200;

fn preview(s: &str) -> String {
    let p: String = s.chars().take(PREVIEW_CHARS).collect();
    if p.len() < s.len() {
        format!("{}…", p.trim_end())
    } else {
        p
    }
}

/// Where this agent keeps its inter-agent sessions: its primary chat (the first
/// allowed user), so its user can continue one with `@<session>`.
fn scope(env: &TurnEnv) -> Scope {
    Scope {
        chat_id: env.config().allowed_user_ids.first().copied().unwrap_or(0),
        topic_id: None,
    }
}

/// The prompt the receiving CLI gets.
pub fn wrap(sender: &str, recipient: &str, message: &str) -> String {
    format!(
        "[INTER-AGENT MESSAGE from '{sender}' to '{recipient}']\n{message}\n[END INTER-AGENT MESSAGE]\n\
         Answer the agent directly and concisely: your reply is returned to it as the result."
    )
}

/// The session name an `ask` runs in.
pub fn session_name(ask: &Ask) -> String {
    super::names::interagent(&ask.sender, ask.chat_id, ask.topic_id)
}

/// Answers `ask` in its inter-agent session (created, replaced after a provider
/// switch, or started fresh with `new_session`).
pub async fn answer(env: &TurnEnv, ask: &Ask) -> Result<Answer, String> {
    let me = env.paths.name().to_owned();
    let scope = scope(env);
    let name = session_name(ask);
    let config = env.config();
    let target = env.default_target(&config);
    let text = crate::i18n::catalog(&config.language);
    let mut notice = None;
    if ask.new_session {
        env.named.end(&env.background, scope, &name);
    } else if let Some(old) = env.named.registry.get(scope, &name)
        && old.provider != target.provider.as_str()
    {
        env.named.end(&env.background, scope, &name);
        notice = Some(text.f(
            "interagent.provider_switched",
            &[("agent", &me), ("provider", target.provider.display_name())],
        ));
    }
    env.named
        .registry
        .ensure_interagent(scope, &name, &target, &ask.message);
    let prompt = wrap(&ask.sender, &me, &ask.message);
    let run = run_in_session(
        env,
        scope,
        &name,
        &prompt,
        TimeoutKind::InterAgent,
        CancellationToken::new(),
    )
    .await
    .ok_or_else(|| format!("agent `{me}` is shutting down"))?;
    if run.recovered {
        notice = Some(text.f("interagent.recovered", &[("agent", &me)]));
    }
    outcome(&me, &name, &run, notice)
}

fn outcome(
    me: &str,
    session: &str,
    run: &RunResult,
    notice: Option<String>,
) -> Result<Answer, String> {
    if run.cancelled {
        return Err(format!("the request was stopped on `{me}`"));
    }
    if !run.ok() {
        return Err(run.text());
    }
    Ok(Answer {
        agent: me.to_owned(),
        text: run.text(),
        session: session.to_owned(),
        notice,
    })
}

/// Tells this agent's users that an async request arrived (unless it is silent or
/// its result goes to a third agent).
pub fn announce(env: &TurnEnv, ask: &Ask, task_id: &str) {
    if ask.silent || ask.reply_to.is_some() {
        return;
    }
    let text = crate::i18n::catalog(&env.config().language);
    let what = ask.summary.as_deref().unwrap_or(&ask.message);
    let note = text.f(
        "interagent.received_md",
        &[
            ("sender", &ask.sender),
            ("session", &session_name(ask)),
            ("task", task_id),
            ("preview", &preview(what)),
        ],
    );
    let s = scope(env);
    let _ = env.outbox.send(Outgoing::Notice {
        key: SessionKey::telegram(s.chat_id, s.topic_id),
        text: note,
    });
}

/// The `ask_result` for an async request that ended with `result`.
pub fn result_for(
    env: &TurnEnv,
    ask: &Ask,
    task_id: &str,
    result: Result<Answer, String>,
) -> AskResult {
    let (ok, text, session) = match result {
        Ok(a) => {
            let text = match a.notice {
                Some(n) => format!("{n}\n\n{}", a.text),
                None => a.text,
            };
            (true, text, a.session)
        }
        Err(e) => (false, e, session_name(ask)),
    };
    AskResult {
        task_id: task_id.to_owned(),
        agent: env.paths.name().to_owned(),
        ok,
        text,
        session,
        request_preview: preview(&ask.message),
        chat_id: ask.chat_id,
        topic_id: ask.topic_id,
    }
}

/// Where a result for the chat `chat_id`/`topic_id` of the asking agent goes on this
/// agent: the same chat when this agent serves it too (a `--reply-to` agent of the same
/// user or group), else this agent's primary chat (chat id 0).
fn result_chat(
    config: &crate::config::AgentConfig,
    chat_id: i64,
    topic_id: Option<i64>,
) -> SessionKey {
    let served = chat_id != 0
        && (config.allowed_user_ids.contains(&chat_id)
            || config.allowed_group_ids.contains(&chat_id));
    if served {
        SessionKey::telegram(chat_id, topic_id)
    } else {
        SessionKey::telegram(0, None)
    }
}

/// On the asking agent (or the `--reply-to` agent): the result of an async request
/// becomes a turn in the chat it came from; a failure becomes a message there.
pub fn deliver(env: &TurnEnv, r: &AskResult) {
    let config = env.config();
    let text = crate::i18n::catalog(&config.language);
    let key = result_chat(&config, r.chat_id, r.topic_id);
    let session = if r.session.is_empty() {
        "?".to_owned()
    } else {
        r.session.clone()
    };
    if !r.ok {
        let note = text.f(
            "interagent.failed_md",
            &[
                ("agent", &r.agent),
                ("session", &session),
                ("error", &preview(&r.text)),
                ("preview", &r.request_preview),
            ],
        );
        let _ = env.outbox.send(Outgoing::Notice { key, text: note });
        return;
    }
    let notice = text.f(
        "interagent.answer_md",
        &[("agent", &r.agent), ("task", &r.task_id)],
    );
    let prompt = format!(
        "[ASYNC INTER-AGENT RESPONSE from '{agent}' (task {task})]\n{body}\n[END ASYNC INTER-AGENT RESPONSE]\n\n\
         The user can continue that conversation in {agent}'s chat with `@{session} <message>`.\n\
         Your original request was: {request}\n\
         Relay the results that matter to the user.",
        agent = r.agent,
        task = r.task_id,
        body = r.text,
        request = r.request_preview,
    );
    let _ = env.outbox.send(Outgoing::Inject {
        key,
        notice: Some(notice),
        prompt,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_go_to_the_originating_chat_only_if_this_agent_serves_it() {
        let config = crate::config::AgentConfig {
            allowed_user_ids: vec![11, 12],
            allowed_group_ids: vec![-1005],
            ..crate::config::AgentConfig::default()
        };
        assert_eq!(
            result_chat(&config, 12, None),
            SessionKey::telegram(12, None)
        );
        assert_eq!(
            result_chat(&config, -1005, Some(9)),
            SessionKey::telegram(-1005, Some(9))
        );
        for foreign in [13, -1006, 0] {
            assert_eq!(
                result_chat(&config, foreign, Some(4)),
                SessionKey::telegram(0, None)
            );
        }
    }

    #[test]
    fn previews_are_cut_with_an_ellipsis() {
        assert_eq!(preview("short"), "short");
        let long = "x".repeat(300);
        let p = preview(&long);
        assert!(p.ends_with('…') && p.chars().count() == PREVIEW_CHARS + 1);
    }

    #[test]
    fn the_wrapper_names_both_agents() {
        let w = wrap("main", "sub1", "what is your name");
        assert!(w.starts_with("[INTER-AGENT MESSAGE from 'main' to 'sub1']\nwhat is your name\n"));
        assert!(w.contains("[END INTER-AGENT MESSAGE]"));
    }
}
