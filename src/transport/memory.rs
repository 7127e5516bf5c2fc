//! A second transport, in memory and for tests only: a chat that keeps its messages
//! in a map and writes plain text without edits (answers stream as segments). It
//! plugs into exactly the seams Telegram uses — [`ChatApi`], [`Dialect`],
//! [`Directory`], the command layer and the outbox router — so whatever works here
//! works for any transport without a line of Telegram code.

use crate::address::{Address, Directory, MessageRef};
use crate::chat::api::{ApiError, BoxFut, ChatApi, Dialect, OutMessage};
use crate::chat::{Frontend, deliver};
use crate::core::Core;
use crate::ops::{self, Action, Ctx, Ops, Sender};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The transport tag.
pub const TAG: &str = "mem";

/// One message in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its conversation.
    pub to: Address,
    /// Its text (the dialect is plain text).
    pub text: String,
    /// Its buttons (labels and actions).
    pub buttons: Vec<(String, Action)>,
    /// The message it answers.
    pub reply_to: Option<MessageRef>,
}

/// Plain text: Markdown reduced to its text, 500 characters per message, no edits.
#[derive(Debug, Clone, Copy)]
pub struct PlainText;

impl Dialect for PlainText {
    fn limit(&self) -> usize {
        500
    }

    fn edits(&self) -> bool {
        false
    }

    fn render(&self, markdown: &str) -> String {
        use pulldown_cmark::{Event, Parser, TagEnd};
        let mut out = String::new();
        for event in Parser::new_ext(markdown, crate::chat::markers::options()) {
            match event {
                Event::Text(t) | Event::Code(t) => out.push_str(&t),
                Event::SoftBreak | Event::HardBreak => out.push('\n'),
                Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => {
                    out.push_str("\n\n");
                }
                _ => {}
            }
        }
        out.trim().to_owned()
    }

    fn split(&self, markup: &str, limit: usize) -> Vec<String> {
        let chars: Vec<char> = markup.chars().collect();
        chars
            .chunks(limit.max(1))
            .map(|c| c.iter().collect::<String>())
            .filter(|c| !c.trim().is_empty())
            .collect()
    }

    fn visible_len(&self, markup: &str) -> usize {
        markup.chars().count()
    }

    fn to_plain(&self, markup: &str) -> String {
        markup.to_owned()
    }

    fn escape(&self, text: &str) -> String {
        text.to_owned()
    }

    fn bold(&self, markup: &str) -> String {
        markup.to_owned()
    }

    fn italic(&self, markup: &str) -> String {
        markup.to_owned()
    }
}

/// The in-memory chat service.
#[derive(Debug, Default)]
pub struct MemoryChat {
    next: AtomicU64,
    messages: Mutex<BTreeMap<u64, Message>>,
}

impl MemoryChat {
    fn put(&self, m: Message) -> MessageRef {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, m);
        MessageRef::new(format!("m{id}"))
    }

    /// Every message, oldest first, with its reference.
    pub fn messages(&self) -> Vec<(MessageRef, Message)> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(id, m)| (MessageRef::new(format!("m{id}")), m.clone()))
            .collect()
    }

    fn key(id: &MessageRef) -> Option<u64> {
        id.as_str().strip_prefix('m')?.parse().ok()
    }
}

fn buttons_of(msg: &OutMessage) -> Vec<(String, Action)> {
    msg.buttons
        .iter()
        .flatten()
        .flatten()
        .map(|b| (b.label.clone(), b.action.clone()))
        .collect()
}

impl ChatApi for MemoryChat {
    fn send<'a>(
        &'a self,
        to: &'a Address,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            if msg.text.trim().is_empty() {
                return Err(ApiError::BadRequest("empty message".into()));
            }
            Ok(self.put(Message {
                to: to.clone(),
                buttons: buttons_of(&msg),
                text: msg.text,
                reply_to: msg.reply_to,
            }))
        })
    }

    fn edit<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
            let m = Self::key(id)
                .and_then(|k| messages.get_mut(&k))
                .ok_or_else(|| ApiError::NotFound(id.to_string()))?;
            m.buttons = buttons_of(&msg);
            m.text = msg.text;
            Ok(())
        })
    }

    fn delete<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
            Self::key(id)
                .and_then(|k| messages.remove(&k))
                .map(|_| ())
                .ok_or_else(|| ApiError::NotFound(id.to_string()))
        })
    }

    fn send_file<'a>(
        &'a self,
        to: &'a Address,
        file: crate::access::Opened,
        reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            Ok(self.put(Message {
                to: to.clone(),
                text: format!("[file {}]", file.path.display()),
                buttons: Vec::new(),
                reply_to,
            }))
        })
    }
}

/// Serves one user's chat on this transport.
#[derive(Debug)]
pub struct MemoryDirectory(pub i64);

impl Directory for MemoryDirectory {
    fn primary(&self) -> Option<Address> {
        Some(Address::new(TAG, self.0, None))
    }
    fn serves(&self, a: &Address) -> bool {
        a.transport == TAG && a.chat_id == self.0
    }
    fn transports(&self) -> Vec<String> {
        vec![TAG.into()]
    }
}

/// The transport: a user who writes and presses buttons, and the chat they see.
pub struct Memory {
    /// The shared machinery.
    pub fe: Arc<Frontend>,
    /// The chat.
    pub chat: Arc<MemoryChat>,
    /// The user's conversation.
    pub address: Address,
}

impl Memory {
    /// Starts the transport on `core`; the outbox router of `core` sends its items here.
    pub fn start(core: &Arc<Core>, outbox: crate::session::outbox::OutboxRx, user: i64) -> Self {
        let chat = Arc::new(MemoryChat::default());
        let fe = Arc::new(Frontend {
            ops: Arc::new(Ops::new(core.clone())),
            api: chat.clone(),
            markup: Arc::new(PlainText),
            transport: TAG.into(),
            shutdown: CancellationToken::new(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let mut lanes = deliver::Lanes::new();
        lanes.insert(TAG.into(), tx);
        tokio::spawn(deliver::route(outbox, core.directory.clone(), lanes));
        tokio::spawn(deliver::run(fe.clone(), rx));
        Self {
            fe,
            chat,
            address: Address::new(TAG, user, None),
        }
    }

    fn ctx(&self, message: Option<MessageRef>) -> Ctx<'_> {
        Ctx {
            ops: &self.fe.ops,
            address: self.address.clone(),
            sender: Sender {
                first_name: "Ada".into(),
                id: Some("ada".into()),
            },
            message,
        }
    }

    /// The user writes `text` (a `/command` or a message).
    pub async fn say(&self, text: &str) {
        let id = self.chat.put(Message {
            to: self.address.clone(),
            text: text.into(),
            buttons: Vec::new(),
            reply_to: None,
        });
        let ctx = self.ctx(Some(id.clone()));
        let response = match text.strip_prefix('/') {
            Some(rest) => {
                let (cmd, args) = rest.split_once(' ').unwrap_or((rest, ""));
                match ops::command(&ctx, cmd, args).await {
                    Some(r) => r,
                    None => ops::message(&ctx, text, &ops::Origin::default()).await,
                }
            }
            None => ops::message(&ctx, text, &ops::Origin::default()).await,
        };
        self.fe.respond(&self.address, Some(id), response).await;
    }

    /// The user presses the button labelled `label` of the newest message that has one.
    pub async fn press(&self, label: &str) {
        let (id, msg, action) = self
            .chat
            .messages()
            .into_iter()
            .rev()
            .find_map(|(id, m)| {
                let action = m.buttons.iter().find(|(l, _)| l == label)?.1.clone();
                Some((id, m, action))
            })
            .unwrap_or_else(|| panic!("no button `{label}` in {:#?}", self.chat.messages()));
        let ctx = self.ctx(Some(id.clone()));
        let response = ops::action(&ctx, action).await;
        self.fe
            .respond_pressed(&self.address, &id, &msg.text, response)
            .await;
    }

    /// Waits until a message satisfying `pred` is in the chat and returns it.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Message) -> bool) -> Message {
        for _ in 0..1000 {
            if let Some((_, m)) = self.chat.messages().into_iter().find(|(_, m)| pred(m)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("no message {what} in {:#?}", self.chat.messages());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use crate::exec::fake::Script;
    use crate::provider::ProviderKind;

    const USER: i64 = 7;

    fn rig() -> (crate::core::testing::Rig, Memory) {
        let mut r = crate::core::testing::rig_with(
            AgentConfig::default(),
            |_| {},
            Arc::new(MemoryDirectory(USER)),
        );
        let (_, empty) = crate::session::outbox::outbox();
        let outbox = std::mem::replace(&mut r.outbox, empty);
        let mem = Memory::start(&r.core, outbox, USER);
        (r, mem)
    }

    #[tokio::test]
    async fn a_conversation_streams_and_resumes_its_session() {
        let (r, mem) = rig();
        mem.say("hello there").await;
        mem.wait_for("with the answer", |m| m.text == "echo: hello there")
            .await;
        mem.say("and again").await;
        mem.wait_for("with the second answer", |m| m.text == "echo: and again")
            .await;
        let launched = r.launcher.launched();
        assert_eq!(launched.len(), 2);
        assert_eq!(launched[0].identity.transport, TAG);
        assert_eq!(launched[0].identity.chat_id, USER);
        assert_eq!(launched[0].spec.resume, None);
        assert_eq!(
            launched[1].spec.resume.as_deref(),
            Some("s-11"),
            "the second turn resumes the session of the first"
        );
        let record = r
            .core
            .conversations
            .engine()
            .sessions
            .get(&mem.address)
            .expect("a session record");
        assert_eq!(record.transport, TAG);
        assert_eq!(record.provider_sessions["claude"].message_count, 2);
    }

    #[tokio::test]
    async fn a_command_answers_with_buttons_whose_actions_work() {
        let (r, mem) = rig();
        mem.say("/tasks").await;
        let list = mem
            .wait_for("with the task list", |m| {
                m.text.contains("Background tasks")
            })
            .await;
        assert!(list.buttons.iter().any(|(_, a)| *a == Action::TasksRefresh));
        mem.say("/start").await;
        mem.wait_for("with the welcome", |m| m.text.contains("Hi Ada"))
            .await;
        let label = r.core.text().t("start.button3");
        mem.press(&label).await;
        let prompt = r.core.text().t("start.prompt3");
        mem.wait_for("with the answer to the welcome prompt", |m| {
            m.text == format!("echo: {prompt}")
        })
        .await;
        let pressed = mem
            .wait_for("annotated", |m| m.text.contains("[USER ANSWER]"))
            .await;
        assert!(pressed.buttons.is_empty(), "the buttons are gone");
        // `/effort` offers the model's efforts; a press sets one for this conversation.
        mem.say("/effort").await;
        mem.wait_for("with efforts", |m| {
            m.buttons
                .iter()
                .any(|(_, a)| matches!(a, Action::Model(ops::ModelStep::Effort(_))))
        })
        .await;
        mem.press("low").await;
        mem.wait_for("confirming the effort", |m| m.text.contains("low"))
            .await;
        let target = r
            .core
            .conversations
            .engine()
            .sessions
            .target(&mem.address)
            .expect("a target");
        assert_eq!(
            (target.provider, target.effort.as_deref()),
            (ProviderKind::Claude, Some("low"))
        );
    }

    #[tokio::test]
    async fn a_named_session_runs_beside_and_posts_its_result_here() {
        let (r, mem) = rig();
        mem.say("/session write a poem").await;
        let started = mem
            .wait_for("announcing the session", |m| m.text.contains("started"))
            .await;
        let name = r.core.named.registry().list(&mem.address)[0].name.clone();
        assert!(started.text.contains(&name));
        let result = mem
            .wait_for("with the result", |m| m.text.contains("Complete"))
            .await;
        assert!(
            result.text.contains("echo: write a poem"),
            "{}",
            result.text
        );
        mem.say(&format!("@{name} shorter")).await;
        mem.wait_for("with the streamed follow-up", |m| {
            m.text.contains(&format!("[{name} | claude]")) || m.text == "echo: shorter"
        })
        .await;
        let named = r.core.named.get(&mem.address, &name).unwrap();
        assert_eq!(named.message_count, 2);
        assert_eq!(named.transport, TAG);
    }

    #[tokio::test]
    async fn a_task_result_comes_back_into_the_chat_as_a_turn() {
        let (r, mem) = rig();
        r.launcher.respond(|job| {
            if job.identity.task_id.is_some() {
                Script::reply("task-s", "flights found: 3")
            } else {
                Script::reply("chat-s", &format!("relayed: {}", job.spec.prompt.len()))
            }
        });
        let task = r
            .core
            .tasks
            .create(&crate::tasks::NewTask {
                prompt: "find flights".into(),
                origin: Some(mem.address.clone()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(task.transport, TAG);
        mem.wait_for("with the task notice", |m| m.text.contains("completed"))
            .await;
        mem.wait_for("with the agent's relay", |m| {
            m.text.starts_with("relayed: ")
        })
        .await;
        let injected = r
            .launcher
            .launched()
            .into_iter()
            .find(|l| l.identity.task_id.is_none())
            .expect("the result ran as a turn of the chat");
        assert!(injected.spec.prompt.contains("flights found: 3"));
        assert_eq!(injected.identity.transport, TAG);
    }

    #[tokio::test]
    async fn without_pictures_the_welcome_is_its_text_and_links_stay_links() {
        let (_r, mem) = rig();
        mem.say("/start").await;
        let welcome = mem
            .wait_for("with the welcome", |m| m.text.contains("ductor agent"))
            .await;
        let actions: Vec<Action> = welcome.buttons.iter().map(|(_, a)| a.clone()).collect();
        assert_eq!(
            actions,
            [Action::Welcome(1), Action::Welcome(2), Action::Welcome(3)]
        );
        mem.say("/info").await;
        let links = mem
            .wait_for("with /info's links", |m| {
                m.buttons.iter().any(|(_, a)| matches!(a, Action::Open(_)))
            })
            .await;
        assert!(
            links.buttons.iter().all(|(_, a)| matches!(a,
                Action::Open(url) if url.starts_with("https://"))),
            "{links:?}"
        );
    }
}
