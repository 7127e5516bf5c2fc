//! A fake chat that behaves like Telegram where the editor cares (ids, "not modified",
//! "not found", HTML and length checks) and records every call with its time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::address::{Address, MessageRef};
use crate::chat::api::{ApiError, BoxFut, ChatApi, OutMessage};
use crate::transport::telegram::format::{MESSAGE_LIMIT, visible_len};

/// What a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Send,
    Edit,
    Delete,
    /// `sendMessageDraft` (`id` = the draft id).
    Draft,
}

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    pub op: Op,
    /// Message id (for sends: the new id when it succeeded).
    pub id: Option<MessageRef>,
    /// Content sent (sends and edits).
    pub msg: Option<OutMessage>,
    /// Time since the fake was created.
    pub at: Duration,
    /// The error returned, if any.
    pub err: Option<ApiError>,
}

/// Decides an injected failure for the `n`-th call (0-based), before the fake's own checks.
pub type Script = Box<dyn FnMut(usize, Op, Option<&OutMessage>) -> Option<ApiError> + Send>;

struct Inner {
    next_id: i64,
    calls: Vec<Call>,
    messages: BTreeMap<i64, OutMessage>,
    script: Script,
    /// Whether the chat takes drafts (a private chat on a current Bot API).
    drafts: bool,
}

/// The fake chat.
pub struct FakeChat {
    inner: Mutex<Inner>,
    start: Instant,
}

impl FakeChat {
    /// A chat that accepts everything valid.
    pub fn new() -> Arc<Self> {
        Self::scripted(Box::new(|_, _, _| None))
    }

    /// A chat that first asks `script` whether a call fails.
    pub fn scripted(script: Script) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                next_id: 100,
                calls: Vec::new(),
                messages: BTreeMap::new(),
                script,
                drafts: false,
            }),
            start: Instant::now(),
        })
    }

    /// A chat that takes drafts, asking `script` first.
    pub fn with_drafts(script: Script) -> Arc<Self> {
        let chat = Self::scripted(script);
        chat.lock().drafts = true;
        chat
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake chat lock")
    }

    /// All calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Successful calls only.
    pub fn ok_calls(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.err.is_none())
            .collect()
    }

    /// Messages currently in the chat, oldest first.
    pub fn messages(&self) -> Vec<(MessageRef, OutMessage)> {
        self.lock()
            .messages
            .iter()
            .map(|(id, m)| (MessageRef::from(*id), m.clone()))
            .collect()
    }

    /// The user deletes a message.
    pub fn user_deletes(&self, id: &MessageRef) {
        if let Some(id) = id.as_i64() {
            self.lock().messages.remove(&id);
        }
    }

    fn record(
        &self,
        inner: &mut Inner,
        op: Op,
        id: Option<i64>,
        msg: Option<&OutMessage>,
        err: Option<ApiError>,
    ) {
        inner.calls.push(Call {
            op,
            id: id.map(MessageRef::from),
            msg: msg.cloned(),
            at: self.start.elapsed(),
            err,
        });
    }

    fn do_send(&self, msg: &OutMessage) -> Result<i64, ApiError> {
        let mut inner = self.lock();
        let n = inner.calls.len();
        let err = (inner.script)(n, Op::Send, Some(msg)).or_else(|| validate(msg).err());
        if let Some(e) = err {
            self.record(&mut inner, Op::Send, None, Some(msg), Some(e.clone()));
            return Err(e);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.messages.insert(id, msg.clone());
        self.record(&mut inner, Op::Send, Some(id), Some(msg), None);
        Ok(id)
    }

    fn do_edit(&self, id: i64, msg: &OutMessage) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let n = inner.calls.len();
        let err = (inner.script)(n, Op::Edit, Some(msg))
            .or_else(|| validate(msg).err())
            .or_else(|| match inner.messages.get(&id) {
                None => Some(ApiError::NotFound("message to edit not found".into())),
                Some(old) if same(old, msg) => Some(ApiError::NotModified),
                Some(_) => None,
            });
        if err.is_none() {
            let mut stored = msg.clone();
            stored.reply_to = inner.messages.get(&id).and_then(|m| m.reply_to.clone());
            inner.messages.insert(id, stored);
        }
        self.record(&mut inner, Op::Edit, Some(id), Some(msg), err.clone());
        err.map_or(Ok(()), Err)
    }

    fn do_draft(&self, draft_id: u64, msg: &OutMessage) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let n = inner.calls.len();
        let err = (inner.script)(n, Op::Draft, Some(msg))
            .or_else(|| {
                (!inner.drafts).then(|| ApiError::BadRequest("TEXTDRAFT_PEER_INVALID".into()))
            })
            // Well-formed markup; an empty draft is allowed (the client shows
            // "Thinking…").
            .or_else(|| {
                msg.markup
                    .then(|| check_html(&msg.text).map_err(ApiError::BadMarkup).err())
                    .flatten()
            });
        if let Some(ApiError::BadRequest(_)) = &err {
            inner.drafts = false;
        }
        self.record(
            &mut inner,
            Op::Draft,
            i64::try_from(draft_id).ok(),
            Some(msg),
            err.clone(),
        );
        err.map_or(Ok(()), Err)
    }

    fn do_delete(&self, id: i64) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let n = inner.calls.len();
        let err = (inner.script)(n, Op::Delete, None).or_else(|| {
            inner
                .messages
                .remove(&id)
                .is_none()
                .then(|| ApiError::NotFound("message to delete not found".into()))
        });
        self.record(&mut inner, Op::Delete, Some(id), None, err.clone());
        err.map_or(Ok(()), Err)
    }
}

/// Telegram compares text and markup for "not modified".
fn same(old: &OutMessage, new: &OutMessage) -> bool {
    old.text == new.text && old.markup == new.markup && old.buttons == new.buttons
}

/// Telegram's checks: non-empty, within the limit, well-formed HTML, callback data ≤ 64 bytes.
fn validate(msg: &OutMessage) -> Result<(), ApiError> {
    let visible = if msg.markup {
        check_html(&msg.text).map_err(ApiError::BadMarkup)?
    } else {
        msg.text.clone()
    };
    if visible.trim().is_empty() {
        return Err(ApiError::BadRequest("message text is empty".into()));
    }
    let len = if msg.markup {
        visible_len(&msg.text)
    } else {
        visible.encode_utf16().count()
    };
    if len > MESSAGE_LIMIT {
        return Err(ApiError::TooLong);
    }
    let mut buttons = msg.buttons.iter().flatten().flatten();
    if buttons.any(|b| {
        let data = b.action.encode();
        data.len() > 64 || data.is_empty()
    }) {
        return Err(ApiError::BadRequest("BUTTON_DATA_INVALID".into()));
    }
    Ok(())
}

/// Checks that `html` is what Telegram accepts and returns its visible text.
pub fn check_html(html: &str) -> Result<String, String> {
    crate::transport::telegram::format::tests::checker::check(html)
}

impl ChatApi for FakeChat {
    fn send<'a>(
        &'a self,
        _to: &'a Address,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.do_send(&msg).map(MessageRef::from)
        })
    }

    fn edit<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.do_edit(id.as_i64().unwrap_or(-1), &msg)
        })
    }

    fn delete<'a>(
        &'a self,
        _to: &'a Address,
        id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.do_delete(id.as_i64().unwrap_or(-1))
        })
    }

    fn drafts(&self, _to: &Address) -> bool {
        self.lock().drafts
    }

    fn draft<'a>(
        &'a self,
        _to: &'a Address,
        draft_id: u64,
        msg: OutMessage,
        _stoppable: bool,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.do_draft(draft_id, &msg)
        })
    }

    fn send_file<'a>(
        &'a self,
        _to: &'a Address,
        _file: crate::access::Opened,
        _reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async { Err(ApiError::BadRequest("no files in the fake chat".into())) })
    }
}
