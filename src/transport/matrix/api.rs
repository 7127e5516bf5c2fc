//! The chat operations on Matrix ([`MxApi`], the [`ChatApi`] of the shared chat
//! machinery): messages as `m.text` with `org.matrix.custom.html`, edits as `m.replace`
//! (new content plus a short fallback, so even a large edit fits an event), deletes as
//! redactions, typing notices, reactions, attachments (encrypted in encrypted rooms by
//! the SDK). Rate limits (`M_LIMIT_EXCEEDED`) are waited out as the server says
//! (`retry_after_ms`) by the SDK's request layer; what still fails is classified for the
//! streaming editor.
//!
//! Buttons become a numbered list under the text; the bot reacts with the digits
//! (1️⃣ … 🔟) so the user can answer with a tap, or type the number. One set per room is
//! active ([`Choices`]); the ingress turns a reaction or a number back into the action.

use super::format::to_matrix_html;
use super::rooms::RoomMap;
use crate::access::Opened;
use crate::address::{Address, MessageRef};
use crate::chat::api::{ApiError, BoxFut, ChatApi, OutMessage};
use crate::chat::html;
use crate::ops::{Action, Buttons, Picture};
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::{Annotation, InReplyTo, Replacement, Reply};
use matrix_sdk::ruma::events::room::message::{
    Relation, RoomMessageEventContent, RoomMessageEventContentWithoutRelation,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId};
use matrix_sdk::{Client, Room};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// The digit reactions offered for the first ten choices.
pub const DIGITS: [&str; 10] = [
    "1\u{fe0f}\u{20e3}",
    "2\u{fe0f}\u{20e3}",
    "3\u{fe0f}\u{20e3}",
    "4\u{fe0f}\u{20e3}",
    "5\u{fe0f}\u{20e3}",
    "6\u{fe0f}\u{20e3}",
    "7\u{fe0f}\u{20e3}",
    "8\u{fe0f}\u{20e3}",
    "9\u{fe0f}\u{20e3}",
    "\u{1f51f}",
];

/// The label of choice `i` (0-based) in the list: a digit emoji, then `11.` style.
pub fn choice_mark(i: usize) -> String {
    DIGITS
        .get(i)
        .map_or_else(|| format!("{}.", i + 1), |d| (*d).to_owned())
}

/// The choice a reaction key stands for (0-based).
pub fn choice_of_reaction(key: &str) -> Option<usize> {
    let bare = |s: &str| s.replace('\u{fe0f}', "");
    let key = bare(key);
    DIGITS.iter().position(|d| bare(d) == key)
}

/// The buttons of the message that offers them.
#[derive(Debug, Clone)]
pub struct Offered {
    /// The message.
    pub event: OwnedEventId,
    /// Its text as sent (markup or plain), without the list.
    pub text: String,
    /// Whether `text` is markup.
    pub markup: bool,
    /// The choices in list order.
    pub actions: Vec<Action>,
}

/// The active choice list of each room.
#[derive(Debug, Default)]
pub struct Choices(Mutex<HashMap<OwnedRoomId, Offered>>);

impl Choices {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<OwnedRoomId, Offered>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The list offered in `room`, if any.
    pub fn get(&self, room: &OwnedRoomId) -> Option<Offered> {
        self.lock().get(room).cloned()
    }

    fn set(&self, room: OwnedRoomId, offered: Offered) {
        self.lock().insert(room, offered);
    }

    /// Forgets the list of `room` if it belongs to `event`.
    fn clear_if(&self, room: &OwnedRoomId, event: &OwnedEventId) {
        let mut map = self.lock();
        if map.get(room).is_some_and(|o| &o.event == event) {
            map.remove(room);
        }
    }
}

/// Matrix's chat operations.
#[derive(Debug)]
pub struct MxApi {
    client: Client,
    rooms: Arc<RoomMap>,
    /// The active choice lists.
    pub choices: Choices,
}

/// `matrix_sdk` errors as the editor's classes.
pub fn classify(e: &matrix_sdk::Error) -> ApiError {
    let text = e.to_string();
    match e.client_api_error_kind() {
        Some(ErrorKind::LimitExceeded(data)) => {
            let wait = match data.retry_after {
                Some(matrix_sdk::ruma::api::error::RetryAfter::Delay(d)) => d,
                _ => std::time::Duration::from_secs(5),
            };
            ApiError::RetryAfter(wait)
        }
        Some(ErrorKind::Forbidden) => ApiError::Forbidden(text),
        Some(ErrorKind::NotFound) => ApiError::NotFound(text),
        Some(ErrorKind::TooLarge) => ApiError::TooLong,
        None if matches!(e, matrix_sdk::Error::Http(_)) => ApiError::Network(text),
        Some(_) | None => ApiError::BadRequest(text),
    }
}

fn event_id(id: &MessageRef) -> Result<OwnedEventId, ApiError> {
    id.as_str()
        .try_into()
        .map_err(|_| ApiError::NotFound(format!("not a Matrix event id: {}", id.as_str())))
}

/// The markup (or plain text) with the numbered list of `actions` labels appended.
fn with_list(text: &str, markup: bool, labels: &[String]) -> String {
    let mut out = text.trim_end().to_owned();
    if labels.is_empty() {
        return out;
    }
    out.push_str("\n\n");
    for (i, label) in labels.iter().enumerate() {
        let label = if markup {
            html::escape_html(label)
        } else {
            label.clone()
        };
        let _ = writeln!(out, "{} {label}", choice_mark(i));
    }
    out.truncate(out.trim_end().len());
    out
}

/// The message content (without relations) of `text`.
pub fn content(text: &str, markup: bool) -> RoomMessageEventContent {
    if markup {
        RoomMessageEventContent::text_html(html::html_to_plain(text), to_matrix_html(text))
    } else {
        RoomMessageEventContent::text_plain(text)
    }
}

/// The choices among `buttons` (labels and actions); links are no choices.
fn flat(buttons: Option<&Buttons>) -> (Vec<String>, Vec<Action>) {
    buttons
        .into_iter()
        .flatten()
        .flatten()
        .filter(|b| b.url().is_none())
        .map(|b| (b.label.clone(), b.action.clone()))
        .unzip()
}

/// The text with the links among `buttons` appended, one a line (links open in the
/// client; they are no choices).
fn with_links(text: String, markup: bool, buttons: Option<&Buttons>) -> String {
    let mut out = text;
    let mut first = true;
    for b in buttons.into_iter().flatten().flatten() {
        let Some(url) = b.url() else { continue };
        out.push_str(if first { "\n\n" } else { "\n" });
        first = false;
        if markup {
            let _ = write!(
                out,
                "<a href=\"{}\">{}</a>",
                html::escape_attr(url),
                html::escape_html(&b.label)
            );
        } else {
            let _ = write!(out, "{}: {url}", b.label);
        }
    }
    out
}

impl MxApi {
    /// The API over a logged-in client.
    pub fn new(client: Client, rooms: Arc<RoomMap>) -> Self {
        Self {
            client,
            rooms,
            choices: Choices::default(),
        }
    }

    /// The joined room of an address.
    pub fn room(&self, to: &Address) -> Result<Room, ApiError> {
        let id = self
            .rooms
            .room(to.chat_id)
            .ok_or_else(|| ApiError::NotFound(format!("no Matrix room is known for {to}")))?;
        let id: OwnedRoomId = id
            .as_str()
            .try_into()
            .map_err(|_| ApiError::NotFound(format!("bad room id {id}")))?;
        self.client
            .get_room(&id)
            .ok_or_else(|| ApiError::Forbidden(format!("the bot is not in room {id}")))
    }

    /// Sends `content` to `room`; returns the event id.
    pub async fn send_content(
        &self,
        room: &Room,
        content: RoomMessageEventContent,
    ) -> Result<OwnedEventId, ApiError> {
        room.send(content)
            .await
            .map(|r| r.response.event_id)
            .map_err(|e| classify(&e))
    }

    async fn offer(&self, room: &Room, event: &OwnedEventId, count: usize) {
        for digit in DIGITS.iter().take(count) {
            let reaction =
                ReactionEventContent::new(Annotation::new(event.clone(), (*digit).to_owned()));
            if let Err(e) = room.send(reaction).await {
                tracing::debug!(error = %e, "cannot add a choice reaction");
                return;
            }
        }
    }
}

impl ChatApi for MxApi {
    fn send<'a>(
        &'a self,
        to: &'a Address,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            let room = self.room(to)?;
            let (labels, actions) = flat(msg.buttons.as_ref());
            let text = with_list(&msg.text, msg.markup, &labels);
            let text = with_links(text, msg.markup, msg.buttons.as_ref());
            let mut c = content(&text, msg.markup);
            if let Some(reply) = &msg.reply_to
                && let Ok(id) = event_id(reply)
            {
                c.relates_to = Some(Relation::Reply(Reply::new(InReplyTo::new(id))));
            }
            let id = self.send_content(&room, c).await?;
            if !actions.is_empty() {
                self.choices.set(
                    room.room_id().to_owned(),
                    Offered {
                        event: id.clone(),
                        text: msg.text.clone(),
                        markup: msg.markup,
                        actions,
                    },
                );
                self.offer(&room, &id, labels.len()).await;
            }
            Ok(MessageRef::new(id.to_string()))
        })
    }

    fn edit<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
        msg: OutMessage,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let room = self.room(to)?;
            let target = event_id(id)?;
            let (labels, actions) = flat(msg.buttons.as_ref());
            let text = with_list(&msg.text, msg.markup, &labels);
            let text = with_links(text, msg.markup, msg.buttons.as_ref());
            let new: RoomMessageEventContentWithoutRelation = content(&text, msg.markup).into();
            let plain = if msg.markup {
                html::html_to_plain(&text)
            } else {
                text.clone()
            };
            let short: String = plain.chars().take(200).collect();
            let mut c = RoomMessageEventContent::text_plain(format!("* {short}"));
            c.relates_to = Some(Relation::Replacement(Replacement::new(target.clone(), new)));
            self.send_content(&room, c).await?;
            let room_id = room.room_id().to_owned();
            if actions.is_empty() {
                self.choices.clear_if(&room_id, &target);
            } else {
                let fresh = self.choices.get(&room_id).is_none_or(|o| o.event != target);
                self.choices.set(
                    room_id,
                    Offered {
                        event: target.clone(),
                        text: msg.text.clone(),
                        markup: msg.markup,
                        actions,
                    },
                );
                if fresh {
                    self.offer(&room, &target, labels.len()).await;
                }
            }
            Ok(())
        })
    }

    fn delete<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
    ) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let room = self.room(to)?;
            let target = event_id(id)?;
            self.choices.clear_if(&room.room_id().to_owned(), &target);
            room.redact(&target, None, None)
                .await
                .map(|_| ())
                .map_err(|e| classify(&matrix_sdk::Error::Http(Box::new(e))))
        })
    }

    fn typing<'a>(&'a self, to: &'a Address) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if let Ok(room) = self.room(to)
                && let Err(e) = room.typing_notice(true).await
            {
                tracing::debug!(error = %e, "typing notice failed");
            }
        })
    }

    fn react<'a>(
        &'a self,
        to: &'a Address,
        id: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let (Ok(room), Ok(target), Some(emoji)) = (self.room(to), event_id(id), emoji) else {
                return;
            };
            let reaction = ReactionEventContent::new(Annotation::new(target, emoji.to_owned()));
            if let Err(e) = room.send(reaction).await {
                tracing::debug!(error = %e, "reaction failed");
            }
        })
    }

    fn reactions_replace(&self) -> bool {
        // Each reaction is an annotation event of its own; `react` never redacts one.
        false
    }

    fn pin<'a>(&'a self, to: &'a Address, id: &'a MessageRef) -> BoxFut<'a, Result<(), ApiError>> {
        use matrix_sdk::ruma::events::room::pinned_events::RoomPinnedEventsEventContent;
        Box::pin(async move {
            let room = self.room(to)?;
            let event = event_id(id)?;
            let mut pinned = room
                .load_pinned_events()
                .await
                .map_err(|e| classify(&e))?
                .unwrap_or_default();
            if !pinned.contains(&event) {
                pinned.push(event);
            }
            room.send_state_event(RoomPinnedEventsEventContent::new(pinned))
                .await
                .map(|_| ())
                .map_err(|e| classify(&e))
        })
    }

    fn send_file<'a>(
        &'a self,
        to: &'a Address,
        file: Opened,
        reply_to: Option<MessageRef>,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            let room = self.room(to)?;
            let name = file
                .path
                .file_name()
                .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
            let data = tokio::task::spawn_blocking(move || {
                use std::io::Read;
                let mut data = Vec::new();
                let mut f = file.file;
                f.read_to_end(&mut data).map(|_| data)
            })
            .await
            .map_err(|e| ApiError::Network(e.to_string()))?
            .map_err(|e| ApiError::BadRequest(format!("cannot read the file: {e}")))?;
            // A file follows the answer it belongs to; it is not sent as a reply (that
            // would need the replied-to event fetched, and fail when it is gone).
            let _ = reply_to;
            attach(&room, name, data).await
        })
    }

    /// A room that looks shared (`ingress::looks_shared`); the direct-chat
    /// mark needs the store (async), so a named direct chat counts as a group here.
    fn is_group(&self, to: &Address) -> bool {
        self.room(to)
            .is_ok_and(|room| super::ingress::looks_shared(&room))
    }

    /// An `m.image` upload; the text (and its choices) follows as its own message,
    /// where the choice list works as everywhere ([`ChatApi::caption_limit`] is 0).
    fn send_picture<'a>(
        &'a self,
        to: &'a Address,
        picture: Picture,
        _caption: OutMessage,
    ) -> BoxFut<'a, Result<MessageRef, ApiError>> {
        Box::pin(async move {
            let room = self.room(to)?;
            attach(&room, picture.name.to_owned(), picture.bytes.to_vec()).await
        })
    }
}

/// Uploads `data` as attachment `name` to `room` (typed by its bytes, then its name).
async fn attach(room: &Room, name: String, data: Vec<u8>) -> Result<MessageRef, ApiError> {
    let head = &data[..data.len().min(crate::chat::media::mime::SNIFF_LEN)];
    let mime: mime::Mime = crate::chat::media::mime::detect(head, Some(&name), None)
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    room.send_attachment(name, &mime, data, AttachmentConfig::new())
        .await
        .map(|r| MessageRef::new(r.event_id.to_string()))
        .map_err(|e| classify(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_digits_then_numbers_and_reactions_map_back() {
        assert_eq!(choice_mark(0), "1\u{fe0f}\u{20e3}");
        assert_eq!(choice_mark(9), "\u{1f51f}");
        assert_eq!(choice_mark(10), "11.");
        assert_eq!(choice_of_reaction("3\u{fe0f}\u{20e3}"), Some(2));
        assert_eq!(choice_of_reaction("3\u{20e3}"), Some(2));
        assert_eq!(choice_of_reaction("\u{1f51f}"), Some(9));
        assert_eq!(choice_of_reaction("👍"), None);
    }

    #[test]
    fn the_list_is_escaped_in_markup_and_appended_below() {
        let labels = vec!["<b>x</b>".to_owned(), "two".to_owned()];
        let t = with_list("<b>Pick</b>\n", true, &labels);
        assert_eq!(
            t,
            "<b>Pick</b>\n\n1\u{fe0f}\u{20e3} &lt;b&gt;x&lt;/b&gt;\n2\u{fe0f}\u{20e3} two"
        );
        assert_eq!(with_list("plain", false, &[]), "plain");
    }

    #[test]
    fn links_are_listed_as_links_not_as_choices() {
        let buttons = vec![vec![
            crate::ops::Button::link("Project <page>", "https://example.org/?a=1&b=2"),
            crate::ops::Button::new("Refresh", Action::SessionsRefresh),
        ]];
        let (labels, actions) = flat(Some(&buttons));
        assert_eq!(labels, ["Refresh"]);
        assert_eq!(actions, [Action::SessionsRefresh]);
        assert_eq!(
            with_links("<b>Info</b>".into(), true, Some(&buttons)),
            "<b>Info</b>\n\n<a href=\"https://example.org/?a=1&amp;b=2\">Project &lt;page&gt;</a>"
        );
        assert_eq!(
            with_links("Info".into(), false, Some(&buttons)),
            "Info\n\nProject <page>: https://example.org/?a=1&b=2"
        );
    }
}
