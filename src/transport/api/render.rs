//! What the API sends, as JSON frames (before encryption): a turn's updates
//! ([`TurnFrames`]: `text_delta`, `tool_activity`, `system_status`, `result`), the
//! command layer's responses, background deliveries, errors.
//!
//! A `result` is `{"type": "result", "text", "stream_fallback", "files": [{"path",
//! "name", "is_image"}]}` as in the original, plus (extensions old clients ignore)
//! `buttons` (rows of `{"label", "id"}`, answered with `{"type": "action", "id"}`),
//! `stopped` (the turn was stopped), `failed` (the text says why it failed) and
//! `background` (a delivery that no message of this client asked for).

use crate::access::{FileAccess, Refusal};
use crate::chat::markers::{extract_buttons, extract_file_tags};
use crate::core::Core;
use crate::ops::{Buttons, Pressed, Reply, Response};
use crate::provider::event::{Event, FailureKind, Outcome};
use crate::session::{TurnFinish, TurnUpdate};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An `error` frame.
pub fn error(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}

/// Button rows as the `buttons` field: each action's compact form is its id; a link
/// has its `url` instead (the client opens it; there is nothing to answer).
pub fn buttons(rows: &Buttons) -> Value {
    Value::Array(
        rows.iter()
            .filter(|row| !row.is_empty())
            .map(|row| {
                Value::Array(
                    row.iter()
                        .map(|b| match b.url() {
                            Some(url) => json!({"label": b.label, "url": url}),
                            None => json!({"label": b.label, "id": b.action.encode()}),
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

/// A `result` frame with `text` (Markdown) and `rows` of buttons.
fn result(text: &str, rows: &Buttons, files: Vec<Value>, streamed: bool) -> Value {
    let files = Value::Array(files);
    let mut frame = json!({
        "type": "result",
        "text": text,
        "stream_fallback": !streamed,
        "files": files,
    });
    if rows.iter().any(|r| !r.is_empty()) {
        frame["buttons"] = buttons(rows);
    }
    frame
}

/// A command's reply as a `result`.
pub fn reply(r: &Reply) -> Value {
    result(&r.markdown, &r.buttons, Vec::new(), false)
}

/// The frames of a command-layer response: the reply, what the pressed message
/// becomes (a replacement or a note), or the button's note when nothing else
/// says anything.
pub fn response(r: &Response) -> Vec<Value> {
    let mut out = Vec::new();
    match &r.pressed {
        Pressed::Replace(rep) => out.push(reply(rep)),
        Pressed::Annotate(note) => out.push(reply(&Reply::text(note.clone()))),
        Pressed::Keep | Pressed::Settle => {}
    }
    if let Some(rep) = &r.reply {
        out.push(reply(rep));
    }
    if out.is_empty()
        && let Some(toast) = &r.toast
    {
        out.push(reply(&Reply::text(toast.clone())));
    }
    out
}

/// The `<file:…>` paths of an answer as `files` entries: only files the file
/// rules let `/files` serve (their real paths); a refused one adds its sentence
/// to `notes`.
fn files(core: &Core, cwd: Option<&Path>, raw: &[String], notes: &mut Vec<String>) -> Vec<Value> {
    if raw.is_empty() {
        return Vec::new();
    }
    let config = core.config.get();
    let access = FileAccess::new(&config, &core.paths);
    let workspace = core.paths.workspace();
    let text = core.text();
    let mut out = Vec::new();
    for path in raw {
        let name = Path::new(path)
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        match access.open(path, cwd.unwrap_or(&workspace)) {
            Ok(opened) => {
                let real = opened.path.display().to_string();
                let is_image = crate::chat::media::mime::from_extension(&real)
                    .is_some_and(|m| m.starts_with("image/"));
                out.push(json!({"path": real, "name": name, "is_image": is_image}));
            }
            Err(Refusal::Missing) => notes.push(text.f("files.missing", &[("name", &name)])),
            Err(Refusal::Secret) => {
                tracing::warn!(file = %path, "refused to offer a file that holds secrets");
                notes.push(text.f("files.secret", &[("name", &name)]));
            }
            Err(Refusal::Outside) => notes.push(text.f(
                "files.outside",
                &[("name", &name), ("mode", &config.file_access)],
            )),
        }
    }
    out
}

/// An agent's text (Markdown with markers) as a `result`: markers out, files
/// listed, buttons from `[button:…]`.
fn agent_result(
    core: &Core,
    markdown: &str,
    cwd: Option<&Path>,
    session: Option<&str>,
    streamed: bool,
) -> Value {
    let (text, paths) = extract_file_tags(markdown);
    let (text, rows) = extract_buttons(&text);
    let mut notes = Vec::new();
    let listed = files(core, cwd, &paths, &mut notes);
    let mut text = text.trim_end().to_owned();
    for n in notes {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&n);
    }
    result(
        &text,
        &crate::chat::markers::marker_buttons(&rows, session),
        listed,
        streamed,
    )
}

/// A background delivery (task result, cron job, notice) as a `result` marked
/// `background`; `session` names the named session its buttons continue.
pub fn background(core: &Core, markdown: &str, session: Option<&str>) -> Value {
    let mut frame = agent_result(core, markdown, None, session, false);
    frame["background"] = Value::Bool(true);
    frame
}

/// Turns one turn's updates into frames.
#[derive(Debug)]
pub struct TurnFrames {
    core: Arc<Core>,
    tag: Option<String>,
    cwd: Option<PathBuf>,
    /// Deltas of the current text block.
    block: String,
    /// Everything streamed so far (the text of a stopped turn).
    streamed: String,
    status: Option<&'static str>,
    retried: bool,
    provider: Option<crate::provider::ProviderKind>,
    /// The conversation of a main turn (for the session-age note).
    to: Option<crate::address::Address>,
}

impl TurnFrames {
    /// The frames of a turn whose answer starts with `tag` (Markdown, `@name`
    /// follow-ups).
    pub fn new(core: Arc<Core>, tag: Option<String>) -> Self {
        Self {
            core,
            tag,
            cwd: None,
            block: String::new(),
            streamed: String::new(),
            status: None,
            retried: false,
            provider: None,
            to: None,
        }
    }

    /// The same for a turn of the conversation `to`, whose answers get the
    /// session-age note like the chat's.
    #[must_use]
    pub fn at(mut self, to: crate::address::Address) -> Self {
        self.to = Some(to);
        self
    }

    fn delta(&mut self, text: &str, out: &mut Vec<Value>) {
        if text.is_empty() {
            return;
        }
        if self.status.take().is_some() {
            out.push(json!({"type": "system_status", "data": null}));
        }
        self.streamed.push_str(text);
        out.push(json!({"type": "text_delta", "data": text}));
    }

    fn status(&mut self, label: &'static str, out: &mut Vec<Value>) {
        if self.status != Some(label) {
            self.status = Some(label);
            out.push(json!({"type": "system_status", "data": label}));
        }
    }

    /// The frames for `update`, and whether the turn has ended.
    pub fn update(&mut self, update: TurnUpdate) -> (Vec<Value>, bool) {
        let mut out = Vec::new();
        match update {
            TurnUpdate::Queued { .. } => self.status("queued", &mut out),
            TurnUpdate::Dropped { .. } => {
                let mut frame = result("", &Vec::new(), Vec::new(), false);
                frame["stopped"] = Value::Bool(true);
                out.push(frame);
                return (out, true);
            }
            TurnUpdate::Started { cwd, target, .. } => {
                self.cwd = Some(cwd);
                self.provider = Some(target.provider);
                if self.status.take().is_some() {
                    out.push(json!({"type": "system_status", "data": null}));
                }
                if let Some(tag) = self.tag.clone() {
                    self.delta(&format!("{tag}\n"), &mut out);
                }
            }
            TurnUpdate::Event(ev) => self.event(ev, &mut out),
            TurnUpdate::SessionReset => {
                self.retried = true;
                self.status("recovering", &mut out);
            }
            TurnUpdate::Finished(fin) => {
                out.push(self.finished(&fin));
                return (out, true);
            }
        }
        (out, false)
    }

    fn event(&mut self, ev: Event, out: &mut Vec<Value>) {
        match ev {
            Event::TextDelta { text } => {
                self.block.push_str(&text);
                self.delta(&text, out);
            }
            Event::Text { text } => {
                // The whole block: send what its deltas did not.
                let block = std::mem::take(&mut self.block);
                if let Some(rest) = text.strip_prefix(block.as_str()) {
                    self.delta(rest, out);
                }
            }
            Event::ToolStarted { name, .. } => {
                out.push(json!({"type": "tool_activity", "data": name}));
            }
            Event::Thinking { .. } => self.status("thinking", out),
            Event::Compacting => self.status("compacting", out),
            Event::Retrying { .. } => self.status("recovering", out),
            Event::SessionStarted { .. }
            | Event::Compacted
            | Event::ToolFinished { .. }
            | Event::Usage(_)
            | Event::Warning { .. } => {}
            Event::Ask { id, ask } => out.push(self.approval(&id, &ask)),
            Event::AskResolved { id, how } => {
                let note = crate::ops::live::end_note(self.core.text(), &how);
                out.push(json!({
                    "type": "approval_resolved", "id": id, "end": how, "text": note
                }));
            }
        }
    }

    /// An `approval` frame: what the CLI asks, as text and as fields, with the
    /// buttons whose ids answer it in an `action` frame.
    fn approval(&self, id: &str, ask: &crate::provider::live::AskKind) -> Value {
        let provider = self
            .provider
            .map_or("CLI", crate::provider::ProviderKind::display_name);
        let reply = crate::ops::live::ask_reply(self.core.text(), provider, id, ask);
        let mut frame = json!({"type": "approval", "id": id, "text": reply.markdown});
        if let Value::Object(fields) = json!(ask)
            && let Value::Object(map) = &mut frame
        {
            map.extend(fields);
        }
        frame["buttons"] = buttons(&reply.buttons);
        frame
    }

    fn finished(&self, fin: &TurnFinish) -> Value {
        let streamed = !self.streamed.is_empty();
        let tagged = |text: &str| match &self.tag {
            Some(tag) => format!("{tag}\n{text}"),
            None => text.to_owned(),
        };
        let stopped = fin.cancelled
            || matches!(
                fin.outcome,
                Outcome::Failed {
                    kind: FailureKind::Cancelled,
                    ..
                }
            );
        if stopped {
            let (text, _) = extract_file_tags(&self.streamed);
            let mut frame = result(text.trim_end(), &Vec::new(), Vec::new(), streamed);
            frame["stopped"] = Value::Bool(true);
            return frame;
        }
        match &fin.outcome {
            Outcome::Completed { text, .. } => {
                let mut text = if text.trim().is_empty() {
                    self.core.text().t("session.empty")
                } else {
                    tagged(text)
                };
                if self.tag.is_none()
                    && let Some(to) = &self.to
                    && let Some(note) = crate::chat::turn::session_age_note(&self.core, to, fin)
                {
                    text = format!("{text}\n\n{note}");
                }
                agent_result(&self.core, &text, self.cwd.as_deref(), None, streamed)
            }
            Outcome::Failed { detail, .. } if fin.refused => failed(detail),
            Outcome::Failed { kind, detail, .. } => failed(&crate::chat::turn::failure_text(
                &self.core,
                *kind,
                detail,
                fin.target.provider,
                self.retried,
            )),
        }
    }
}

/// A `result` that says why a turn failed.
fn failed(sentence: &str) -> Value {
    let mut frame = result(sentence, &Vec::new(), Vec::new(), false);
    frame["failed"] = Value::Bool(true);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use crate::ops::{Action, Button};
    use crate::provider::ProviderKind;
    use crate::provider::event::Usage;
    use crate::session::store::Target;
    use std::time::Duration;

    fn finish(outcome: Outcome, cancelled: bool) -> TurnUpdate {
        TurnUpdate::Finished(Box::new(TurnFinish {
            outcome,
            target: Target {
                provider: ProviderKind::Claude,
                model: "opus".into(),
                effort: None,
            },
            cancelled,
            recovered: false,
            refused: false,
            elapsed: Duration::from_secs(1),
        }))
    }

    fn completed(text: &str) -> Outcome {
        Outcome::Completed {
            text: text.into(),
            session_id: None,
            usage: Usage::default(),
            permission_denials: Vec::new(),
        }
    }

    fn types(frames: &[Value]) -> Vec<&str> {
        frames.iter().map(|f| f["type"].as_str().unwrap()).collect()
    }

    #[tokio::test]
    async fn a_turn_streams_deltas_tools_and_one_result_with_files_and_buttons() {
        let r = crate::core::testing::rig(AgentConfig::default(), |_| {});
        let ws = r.core.paths.workspace();
        std::fs::write(ws.join("chart.png"), b"png").unwrap();
        let mut tf = TurnFrames::new(r.core.clone(), None);
        let mut all = Vec::new();
        for u in [
            TurnUpdate::Started {
                target: Target {
                    provider: ProviderKind::Claude,
                    model: "opus".into(),
                    effort: None,
                },
                resume: None,
                cwd: ws.clone(),
            },
            TurnUpdate::Event(Event::Thinking { text: "hm".into() }),
            TurnUpdate::Event(Event::TextDelta { text: "Hel".into() }),
            TurnUpdate::Event(Event::Text {
                text: "Hello".into(),
            }),
            TurnUpdate::Event(Event::ToolStarted {
                id: None,
                name: "Bash".into(),
                summary: String::new(),
            }),
            TurnUpdate::Event(Event::Text {
                text: " there".into(),
            }),
        ] {
            let (frames, done) = tf.update(u);
            assert!(!done);
            all.extend(frames);
        }
        assert_eq!(
            types(&all),
            [
                "system_status",
                "system_status",
                "text_delta",
                "text_delta",
                "tool_activity",
                "text_delta"
            ]
        );
        assert_eq!(all[0]["data"], "thinking");
        assert_eq!(all[1]["data"], Value::Null);
        let deltas: String = all
            .iter()
            .filter(|f| f["type"] == "text_delta")
            .map(|f| f["data"].as_str().unwrap())
            .collect();
        assert_eq!(deltas, "Hello there");
        let text = "Hello there\n<file:chart.png>\n<file:/etc/shadow>\n[button:Yes] [button:No]";
        let (frames, done) = tf.update(finish(completed(text), false));
        assert!(done);
        let res = &frames[0];
        assert_eq!(res["type"], "result");
        assert_eq!(res["stream_fallback"], false);
        assert!(res["text"].as_str().unwrap().starts_with("Hello there"));
        assert!(!res["text"].as_str().unwrap().contains("<file:"));
        assert_eq!(res["files"].as_array().unwrap().len(), 1, "{res}");
        assert_eq!(res["files"][0]["name"], "chart.png");
        assert_eq!(res["files"][0]["is_image"], true);
        assert_eq!(res["buttons"][0][0]["label"], "Yes");
        assert_eq!(
            Action::decode(res["buttons"][0][1]["id"].as_str().unwrap()),
            Action::Answer("No".into())
        );
    }

    #[tokio::test]
    async fn stopped_and_failed_turns_say_so() {
        let r = crate::core::testing::rig(AgentConfig::default(), |_| {});
        let mut tf = TurnFrames::new(r.core.clone(), None);
        let _ = tf.update(TurnUpdate::Event(Event::TextDelta {
            text: "partial".into(),
        }));
        let (frames, done) = tf.update(finish(completed("partial and more"), true));
        assert!(done);
        assert_eq!(frames[0]["stopped"], true);
        assert_eq!(frames[0]["text"], "partial");
        let mut tf = TurnFrames::new(r.core.clone(), None);
        let failed = Outcome::Failed {
            kind: FailureKind::Timeout,
            detail: String::new(),
            session_id: None,
        };
        let (frames, _) = tf.update(finish(failed, false));
        assert_eq!(frames[0]["failed"], true);
        assert_eq!(frames[0]["stream_fallback"], true);
        assert!(!frames[0]["text"].as_str().unwrap().is_empty());
        let (frames, done) = tf.update(TurnUpdate::Dropped { by_stop: true });
        assert!(done && frames[0]["stopped"] == true);
    }

    #[test]
    fn responses_list_their_buttons_by_compact_id() {
        let reply = Reply::text("Pick")
            .with_buttons(vec![vec![Button::new("Refresh", Action::SessionsRefresh)]]);
        let frames = response(&Response::reply(reply.clone()));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["text"], "Pick");
        assert_eq!(frames[0]["buttons"][0][0]["id"], "nsc:r");
        let pressed = response(&Response::replace(reply));
        assert_eq!(pressed[0]["buttons"][0][0]["label"], "Refresh");
        assert!(response(&Response::none()).is_empty());
    }

    #[test]
    fn a_link_button_carries_its_url_and_no_id() {
        let reply = Reply::text("ductor").with_buttons(vec![vec![
            Button::link("Project page", "https://example.org/ductor"),
            Button::new("Refresh", Action::SessionsRefresh),
        ]]);
        let frames = response(&Response::reply(reply));
        let link = &frames[0]["buttons"][0][0];
        assert_eq!(link["label"], "Project page");
        assert_eq!(link["url"], "https://example.org/ductor");
        assert!(link.get("id").is_none(), "{link}");
        assert_eq!(frames[0]["buttons"][0][1]["id"], "nsc:r");
    }
}
