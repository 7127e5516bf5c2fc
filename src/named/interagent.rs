//! Requests between agents (§7.3). The receiving agent answers an `ask` in an
//! inter-agent session per (sender, chat, topic), non-streaming, kept in its primary
//! chat so its user can continue one with `@<session>`; an asynchronous request
//! reports back with `ask_result`, which the asking agent injects into the chat the
//! request came from (through its main lane, never beside a running turn).

use super::Named;
use crate::address::{Address, Destination, Directory};
use crate::exec::TimeoutKind;
use crate::ipc::message::{Answer, Ask, AskResult};
use crate::session::outbox::Outgoing;
use crate::session::store::default_target;

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

/// Where this agent keeps its inter-agent sessions: its primary chat.
pub fn home_chat(directory: &dyn Directory) -> Address {
    directory.primary_or_none_yet()
}

impl Named {
    /// Answers `ask` in its inter-agent session at `home` (created, replaced after a
    /// provider switch, or started fresh with `new_session`); `stop` ends the run
    /// early (its asker stopped waiting).
    pub async fn answer(
        &self,
        home: &Address,
        ask: &Ask,
        stop: Option<tokio_util::sync::CancellationToken>,
    ) -> Result<Answer, String> {
        let me = self.agent.clone();
        let name = session_name(ask);
        let config = self.config.get();
        let target = default_target(&config);
        let text = crate::i18n::catalog(&config.language);
        let mut notice = None;
        if ask.new_session {
            self.end(home, &name).await;
        } else if let Some(old) = self.registry.get(home, &name)
            && old.provider != target.provider.as_str()
        {
            self.end(home, &name).await;
            notice = Some(text.f(
                "interagent.provider_switched",
                &[("agent", &me), ("provider", target.provider.display_name())],
            ));
        }
        self.registry
            .ensure_interagent(home, &name, &target, &ask.message);
        let prompt = wrap(&ask.sender, &me, &ask.message);
        let job = crate::session::Job {
            cancel: stop,
            ..Self::job(&name, prompt, TimeoutKind::InterAgent)
        };
        let run = match self.conversations.run(home, job, |_| {}).await {
            crate::session::Ran::Finished(f) => f,
            crate::session::Ran::Dropped => {
                return Err(format!("the request was stopped on `{me}`"));
            }
            crate::session::Ran::CutOff => return Err(format!("agent `{me}` is shutting down")),
        };
        if run.recovered {
            notice = Some(text.f("interagent.recovered", &[("agent", &me)]));
        }
        if run.cancelled {
            return Err(format!("the request was stopped on `{me}`"));
        }
        if !run.ok() {
            return Err(run.text());
        }
        Ok(Answer {
            agent: me,
            text: run.text(),
            session: name,
            notice,
        })
    }

    /// Tells this agent's users that an async request arrived (unless it is silent or
    /// its result goes to a third agent).
    pub fn announce(&self, ask: &Ask, task_id: &str) {
        if ask.silent || ask.reply_to.is_some() {
            return;
        }
        let text = crate::i18n::catalog(&self.config.get().language);
        let what = ask.summary.as_deref().unwrap_or(&ask.message);
        let note = text.f(
            "interagent.received_md",
            &[
                ("sender", &ask.sender),
                ("session", &session_name(ask)),
                ("task", task_id),
                ("preview", &crate::md::escape(&preview(what))),
            ],
        );
        let _ = self.outbox.send(Outgoing::Notice {
            to: Destination::Primary,
            text: note,
        });
    }

    /// The `ask_result` for an async request that ended with `result`.
    pub fn result_for(
        &self,
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
            agent: self.agent.clone(),
            ok,
            text,
            session,
            request_preview: preview(&ask.message),
            transport: ask.transport.clone(),
            chat_id: ask.chat_id,
            topic_id: ask.topic_id,
        }
    }

    /// On the asking agent (or the `--reply-to` agent): the result of an async request
    /// becomes a turn in the chat it came from; a failure becomes a message there.
    pub fn deliver(&self, directory: &dyn Directory, r: &AskResult) {
        let config = self.config.get();
        let text = crate::i18n::catalog(&config.language);
        let to = result_chat(
            directory,
            &Address::new(&r.transport, r.chat_id, r.topic_id),
        );
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
                    ("error", &crate::md::one_line(&preview(&r.text))),
                    ("preview", &crate::md::one_line(&r.request_preview)),
                ],
            );
            let _ = self.outbox.send(Outgoing::Notice { to, text: note });
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
        let _ = self.outbox.send(Outgoing::Inject {
            to,
            notice: Some(notice),
            prompt,
        });
    }
}

/// Where a result for chat `origin` of the asking agent goes on this agent: the same
/// chat when this agent serves it too (a `--reply-to` agent of the same user or
/// group), else this agent's primary chat.
fn result_chat(directory: &dyn Directory, origin: &Address) -> Destination {
    if origin.chat_id != 0 && directory.serves(origin) {
        Destination::Chat(origin.clone())
    } else {
        Destination::Primary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Served(Vec<i64>);

    impl Directory for Served {
        fn primary(&self) -> Option<Address> {
            Some(Address::new("tg", self.0[0], None))
        }
        fn serves(&self, address: &Address) -> bool {
            address.transport == "tg" && self.0.contains(&address.chat_id)
        }
        fn transports(&self) -> Vec<String> {
            vec!["tg".into()]
        }
    }

    #[test]
    fn results_go_to_the_originating_chat_only_if_this_agent_serves_it() {
        let dir = Served(vec![11, 12, -1005]);
        let chat = |c, t| Address::new("tg", c, t);
        assert_eq!(
            result_chat(&dir, &chat(12, None)),
            Destination::Chat(chat(12, None))
        );
        assert_eq!(
            result_chat(&dir, &chat(-1005, Some(9))),
            Destination::Chat(chat(-1005, Some(9)))
        );
        for foreign in [13, -1006, 0] {
            assert_eq!(
                result_chat(&dir, &chat(foreign, Some(4))),
                Destination::Primary
            );
        }
        assert_eq!(
            result_chat(&dir, &Address::new("mx", 12, None)),
            Destination::Primary,
            "a chat of a transport this agent does not serve"
        );
        assert_eq!(home_chat(&dir), chat(11, None));
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
