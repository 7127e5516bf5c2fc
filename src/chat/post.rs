//! Posting in a chat: the command layer's responses (a reply to the command, what
//! happens to a pressed message, the turn to run, a restart) and agent texts with
//! markers (background results: `[button:…]` become buttons, `<file:…>` are sent
//! after the text). Background deliveries wait out flood control and network trouble
//! until shutdown; rejected markup goes out as plain text.

use super::Frontend;
use super::api::{ApiError, OutMessage};
use super::markers::prepare;
use crate::address::{Address, MessageRef};
use crate::ops::{Buttons, Picture, Pressed, Reply, Response};
use std::sync::Arc;
use std::time::Duration;

/// Waits between attempts while the chat service cannot be reached.
const NETWORK_BACKOFF_SECS: [u64; 6] = [1, 2, 4, 8, 16, 30];

/// The agent is shutting down before the message could be sent (a journaled delivery
/// stays pending for the next start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by shutdown")]
pub struct Interrupted;

impl Frontend {
    /// Sends one message. Patient: waits out flood control and network trouble (until
    /// shutdown). Always: rejected markup is sent as plain text, a vanished reply
    /// target is dropped. Other refusals (blocked bot, unknown chat) are logged and
    /// given up: retrying cannot help.
    pub async fn send_message(
        &self,
        to: &Address,
        msg: OutMessage,
        patient: bool,
    ) -> Result<Option<MessageRef>, Interrupted> {
        let mut msg = msg;
        let mut network_failures = 0usize;
        loop {
            let wait = match self.api.send(to, msg.clone()).await {
                Ok(id) => return Ok(Some(id)),
                Err(ApiError::RetryAfter(wait)) if patient => wait,
                Err(ApiError::Network(e)) if patient => {
                    let step = network_failures.min(NETWORK_BACKOFF_SECS.len() - 1);
                    network_failures += 1;
                    tracing::debug!(error = %e, "delivery failed; retrying");
                    Duration::from_secs(NETWORK_BACKOFF_SECS[step])
                }
                Err(ApiError::BadMarkup(e) | ApiError::BadRequest(e)) if msg.markup => {
                    tracing::warn!(error = %e, "message rejected; sending as plain text");
                    msg.text = self.markup.to_plain(&msg.text);
                    msg.markup = false;
                    continue;
                }
                Err(ApiError::NotFound(_)) if msg.reply_to.is_some() => {
                    msg.reply_to = None;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, chat = %to, "message refused; dropping it");
                    return Ok(None);
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.shutdown.cancelled() => return Err(Interrupted),
            }
        }
    }

    /// Replaces a live CLI request's message (`markdown`) by its text with `note`
    /// under it, without buttons.
    pub async fn settle_request(&self, to: &Address, msg: &MessageRef, markdown: &str, note: &str) {
        let m = &self.markup;
        let text = format!("{}\n\n{}", m.render(markdown), m.italic(&m.escape(note)));
        match self.api.edit(to, msg, OutMessage::markup(text)).await {
            Ok(()) | Err(ApiError::NotModified) => {}
            Err(e) => tracing::debug!(error = %e, "cannot settle a live CLI's request message"),
        }
    }

    /// What a restarted agent tells this transport's chats (restart notice, Retry
    /// buttons); the live CLI requests an earlier run left waiting are marked expired.
    pub async fn announce_recovery(&self) {
        let expired = self.text().t("live.expired");
        for w in super::asks::take_left(&self.core().paths, &self.transport) {
            self.settle_request(&w.address, &w.message, &w.markdown, &expired)
                .await;
        }
        for a in crate::ops::recovery::on_start(&self.ops, &self.transport) {
            if self
                .post_reply(&a.address, &a.reply, a.reply_to.clone())
                .await
                .is_none()
            {
                tracing::warn!(chat = %a.address, "cannot announce after the restart");
            }
        }
    }

    /// Posts `reply` (Markdown, no markers) as new messages, the first answering
    /// `reply_to`, the buttons under the last. Returns the last message.
    pub async fn post_reply(
        &self,
        to: &Address,
        reply: &Reply,
        reply_to: Option<MessageRef>,
    ) -> Option<MessageRef> {
        if let Some(picture) = reply.picture {
            return self.post_picture(to, reply, picture, reply_to).await;
        }
        self.post_text(to, reply, reply_to).await
    }

    /// Posts `reply` with `picture`: the text as the picture's caption when the
    /// transport takes captions and the text fits ([`ChatApi::caption_limit`]), else
    /// the picture and then the text. A refused captioned picture goes again without
    /// the caption and the text follows on its own; where no picture can be sent, the
    /// text still is.
    ///
    /// [`ChatApi::caption_limit`]: super::api::ChatApi::caption_limit
    async fn post_picture(
        &self,
        to: &Address,
        reply: &Reply,
        picture: Picture,
        mut reply_to: Option<MessageRef>,
    ) -> Option<MessageRef> {
        let m = &self.markup;
        let rendered = m.render(&reply.markdown);
        let limit = self.api.caption_limit();
        if limit > 0 && m.visible_len(&rendered) <= limit {
            let caption = OutMessage::markup(rendered)
                .replying_to(reply_to.clone())
                .with_buttons(Some(reply.buttons.clone()));
            match self.api.send_picture(to, picture, caption).await {
                Ok(id) => return Some(id),
                // The message it answers is gone: the rest goes without replying.
                Err(ApiError::NotFound(e)) => {
                    tracing::debug!(error = %e, "the message the picture answers is gone");
                    reply_to = None;
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "the captioned picture was refused; sending it and the text apart"
                ),
            }
        }
        let bare = OutMessage::default().replying_to(reply_to.clone());
        if let Err(e) = self.api.send_picture(to, picture, bare).await {
            tracing::debug!(error = %e, "no picture sent; the text goes alone");
        }
        self.post_text(to, reply, reply_to).await
    }

    /// Posts the text and buttons of `reply` (see [`Self::post_reply`]).
    async fn post_text(
        &self,
        to: &Address,
        reply: &Reply,
        reply_to: Option<MessageRef>,
    ) -> Option<MessageRef> {
        let m = &self.markup;
        let chunks = m.split(&m.render(&reply.markdown), m.limit());
        self.send_chunks(
            to,
            &chunks,
            Some(reply.buttons.clone()),
            reply_to,
            false,
            &reply.markdown,
        )
        .await
        .ok()
        .flatten()
    }

    /// Sends `chunks` (of `markdown`) as messages; over `max_reply_messages` the last
    /// one says so and the whole `markdown` follows as a file.
    async fn send_chunks(
        &self,
        to: &Address,
        chunks: &[String],
        buttons: Option<Buttons>,
        reply_to: Option<MessageRef>,
        patient: bool,
        markdown: &str,
    ) -> Result<Option<MessageRef>, Interrupted> {
        let max = self.core().config.get().max_reply_messages;
        let notice = super::overflow::notice(self.markup.as_ref(), self.text(), max);
        let capped = super::overflow::cap(chunks, max, &notice);
        let chunks = capped.as_deref().unwrap_or(chunks);
        let last = chunks.len().saturating_sub(1);
        let mut sent = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let mut msg = OutMessage::markup(chunk.clone());
            if i == 0 {
                msg = msg.replying_to(reply_to.clone());
            }
            if i == last {
                msg = msg.with_buttons(buttons.clone());
            }
            sent = self.send_message(to, msg, patient).await?;
        }
        if capped.is_some() {
            self.send_whole_answer(to, markdown, None).await;
        }
        Ok(sent)
    }

    /// Posts an agent text: `[button:…]` markers become buttons (follow-ups in named
    /// session `session` when given, plain answers otherwise), `<file:…>` tags are
    /// uploaded after it. Waits out flood control and network trouble. Says whether
    /// the text reached the chat (false: the chat refused it).
    pub async fn post_agent_text(
        &self,
        to: &Address,
        markdown: &str,
        reply_to: Option<MessageRef>,
        session: Option<&str>,
    ) -> Result<bool, Interrupted> {
        let prepared = prepare(self.markup.as_ref(), markdown);
        let buttons = super::markers::marker_buttons(&prepared.buttons, session);
        let sent = self
            .send_chunks(
                to,
                &prepared.chunks,
                Some(buttons),
                reply_to,
                true,
                markdown,
            )
            .await?;
        super::turn::send_files(self, to, None, &prepared.files).await;
        Ok(sent.is_some())
    }

    /// Posts `reply` (Markdown and ductor's own buttons) as a background delivery:
    /// waits out flood control and network trouble, like [`Self::post_agent_text`].
    pub async fn post_offer(&self, to: &Address, reply: &Reply) -> Result<bool, Interrupted> {
        let m = &self.markup;
        let chunks = m.split(&m.render(&reply.markdown), m.limit());
        let sent = self
            .send_chunks(
                to,
                &chunks,
                Some(reply.buttons.clone()),
                None,
                true,
                &reply.markdown,
            )
            .await?;
        Ok(sent.is_some())
    }

    /// Carries out the response to a command or message at `to` (`message` = the
    /// user's message, which the reply answers).
    pub async fn respond(self: &Arc<Self>, to: &Address, message: Option<MessageRef>, r: Response) {
        if let Some(reply) = &r.reply {
            self.post_reply(to, reply, message).await;
        }
        if r.greet && self.api.is_group(to) {
            self.greet(to).await;
        }
        if let Some(submit) = r.submit {
            self.submit(to, submit).await;
        }
        if r.restart {
            self.core().restart.cancel();
        }
    }

    /// Carries out the response to a press on message `pressed` (whose visible text
    /// is `pressed_text`); returns the note for the button, if any.
    pub async fn respond_pressed(
        self: &Arc<Self>,
        to: &Address,
        pressed: &MessageRef,
        pressed_text: &str,
        r: Response,
    ) -> Option<String> {
        let m = &self.markup;
        // A replacement longer than one message: the pressed message shows the first
        // part, the rest follows as new messages with the buttons under the last.
        let mut overflow = Vec::new();
        let edit = match &r.pressed {
            Pressed::Keep => None,
            Pressed::Replace(reply) => {
                let mut chunks = m.split(&m.render(&reply.markdown), m.limit()).into_iter();
                let first = chunks.next().unwrap_or_default();
                overflow = chunks.collect();
                let buttons = overflow.is_empty().then(|| reply.buttons.clone());
                Some(OutMessage::markup(first).with_buttons(buttons))
            }
            Pressed::Annotate(note) => Some(OutMessage::markup(format!(
                "{}\n\n{}",
                m.escape(pressed_text),
                m.italic(&m.escape(note))
            ))),
            Pressed::Settle => Some(OutMessage::plain(pressed_text)),
        };
        if let Some(msg) = edit {
            match self.api.edit(to, pressed, msg).await {
                Ok(()) | Err(ApiError::NotModified) => {}
                Err(e) => tracing::debug!(error = %e, "cannot update the pressed message"),
            }
        }
        if let (false, Pressed::Replace(reply)) = (overflow.is_empty(), &r.pressed) {
            let _ = self
                .send_chunks(
                    to,
                    &overflow,
                    Some(reply.buttons.clone()),
                    None,
                    false,
                    &reply.markdown,
                )
                .await;
        }
        if let Some(reply) = &r.reply {
            self.post_reply(to, reply, Some(pressed.clone())).await;
        }
        if let Some(submit) = r.submit {
            self.submit(to, submit).await;
        }
        if r.restart {
            self.core().restart.cancel();
        }
        r.toast
    }
}

#[cfg(test)]
mod picture_tests {
    use super::*;
    use crate::access::Opened;
    use crate::chat::api::{BoxFut, ChatApi};
    use crate::ops::{Action, Button, Ops};
    use std::sync::Mutex;
    use tokio_util::sync::CancellationToken;

    /// What the chat received: `picture:<caption>` or `text:<text>`, with button count.
    #[derive(Default)]
    struct PictureChat {
        limit: usize,
        refuse_captions: bool,
        /// The message answered is gone: a picture replying to it is refused.
        reply_gone: bool,
        log: Mutex<Vec<(String, usize)>>,
    }

    impl PictureChat {
        fn record(&self, entry: String, buttons: Option<&Buttons>) {
            let n = buttons.map_or(0, |b| b.iter().flatten().count());
            self.log.lock().unwrap().push((entry, n));
        }
    }

    impl ChatApi for PictureChat {
        fn send<'a>(
            &'a self,
            _to: &'a Address,
            msg: OutMessage,
        ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
            self.record(format!("text:{}", msg.text), msg.buttons.as_ref());
            Box::pin(async { Ok(MessageRef::from(1)) })
        }

        fn edit<'a>(
            &'a self,
            _to: &'a Address,
            _id: &'a MessageRef,
            _msg: OutMessage,
        ) -> BoxFut<'a, Result<(), ApiError>> {
            Box::pin(async { Ok(()) })
        }

        fn delete<'a>(
            &'a self,
            _to: &'a Address,
            _id: &'a MessageRef,
        ) -> BoxFut<'a, Result<(), ApiError>> {
            Box::pin(async { Ok(()) })
        }

        fn send_file<'a>(
            &'a self,
            _to: &'a Address,
            _file: Opened,
            _reply_to: Option<MessageRef>,
        ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
            Box::pin(async { Err(ApiError::BadRequest("no files here".into())) })
        }

        fn caption_limit(&self) -> usize {
            self.limit
        }

        fn send_picture<'a>(
            &'a self,
            _to: &'a Address,
            picture: Picture,
            caption: OutMessage,
        ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
            assert_eq!(picture.name, "p.png");
            if self.reply_gone && caption.reply_to.is_some() {
                return Box::pin(async { Err(ApiError::NotFound("reply target".into())) });
            }
            let refused = self.refuse_captions && !caption.text.is_empty();
            if !refused {
                self.record(
                    format!("picture:{}", caption.text),
                    caption.buttons.as_ref(),
                );
            }
            Box::pin(async move {
                if refused {
                    Err(ApiError::BadMarkup("can't parse entities".into()))
                } else {
                    Ok(MessageRef::from(2))
                }
            })
        }
    }

    async fn post(chat: PictureChat, markdown: &str) -> Vec<(String, usize)> {
        post_replying(chat, markdown, None).await
    }

    async fn post_replying(
        chat: PictureChat,
        markdown: &str,
        reply_to: Option<MessageRef>,
    ) -> Vec<(String, usize)> {
        let r = crate::core::testing::rig(crate::config::AgentConfig::default(), |_| {});
        let chat = Arc::new(chat);
        let fe = Frontend {
            ops: Arc::new(Ops::new(r.core.clone())),
            api: chat.clone(),
            markup: Arc::new(crate::transport::memory::PlainText),
            transport: "mem".into(),
            shutdown: CancellationToken::new(),
        };
        let reply = Reply::text(markdown)
            .with_buttons(vec![vec![Button::new("Go", Action::Welcome(1))]])
            .with_picture(Picture {
                name: "p.png",
                bytes: b"\x89PNG",
            });
        fe.post_reply(&Address::new("mem", 7, None), &reply, reply_to)
            .await;
        chat.log.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn the_text_rides_as_caption_only_when_it_fits() {
        let fits = PictureChat {
            limit: 20,
            ..PictureChat::default()
        };
        assert_eq!(post(fits, "short").await, [("picture:short".into(), 1)]);
        let long = PictureChat {
            limit: 20,
            ..PictureChat::default()
        };
        let text = "a welcome longer than twenty characters";
        assert_eq!(
            post(long, text).await,
            [("picture:".into(), 0), (format!("text:{text}"), 1)]
        );
    }

    #[tokio::test]
    async fn a_refused_caption_and_a_chat_without_pictures_still_get_the_text() {
        let refusing = PictureChat {
            limit: 100,
            refuse_captions: true,
            ..PictureChat::default()
        };
        assert_eq!(
            post(refusing, "hello").await,
            [("picture:".into(), 0), ("text:hello".into(), 1)]
        );
        // The /start message was deleted meanwhile: the picture still goes, without
        // replying to it.
        let gone = PictureChat {
            limit: 100,
            reply_gone: true,
            ..PictureChat::default()
        };
        assert_eq!(
            post_replying(gone, "hello", Some(MessageRef::from(5))).await,
            [("picture:".into(), 0), ("text:hello".into(), 1)]
        );
        // No captions (limit 0): the bare picture, then the text.
        assert_eq!(
            post(PictureChat::default(), "hello").await,
            [("picture:".into(), 0), ("text:hello".into(), 1)]
        );
    }
}
