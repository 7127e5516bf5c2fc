//! Room events into the command layer (§11): authorisation (room, user; in group rooms
//! with `group_mention_only` a mention or a reply to the bot), then a typed number or a
//! digit reaction answers the room's open choice list, `!cmd`/`/cmd` runs a command,
//! an abort phrase aborts, media is stored and submitted, anything else is a message
//! for the agent. A room's input is handled in order, beside the sync loop.

use super::api::{Offered, choice_of_reaction};
use super::media::{self, MxFetch};
use super::sync::Matrix;
use crate::address::{Address, MessageRef};
use crate::chat::api::OutMessage;
use crate::ops::{self, Ctx, Sender};
use matrix_sdk::Room;
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::ruma::OwnedEventId;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::receipt::ReceiptThread;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
};
use std::future::Future;
use std::sync::Arc;

/// Handles one (decrypted) timeline event of a joined room.
pub async fn timeline_event(mx: &Arc<Matrix>, room: &Room, ev: TimelineEvent) {
    let parsed = match ev.raw().deserialize() {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "unreadable room event ignored");
            return;
        }
    };
    match parsed {
        AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
            SyncMessageLikeEvent::Original(m),
        )) => message(mx, room, m).await,
        AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::Reaction(
            SyncMessageLikeEvent::Original(r),
        )) => reaction(mx, room, &r),
        _ => {}
    }
}

/// Whether the room is a direct chat: marked as one, or not [`looks_shared`].
async fn is_dm(room: &Room) -> bool {
    room.is_direct().await.unwrap_or(false) || !looks_shared(room)
}

/// Whether a room looks like a group by what the client has at hand: a name, an
/// alias or more than the user and the bot (the `/start` join notice asks too).
pub(super) fn looks_shared(room: &Room) -> bool {
    room.name().is_some() || room.canonical_alias().is_some() || room.joined_members_count() > 2
}

/// The text of a message with a reply's quoted fallback removed.
fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    match body.find("\n\n") {
        Some(i) if body[..i].lines().all(|l| l.starts_with('>')) => &body[i + 2..],
        _ => body,
    }
}

/// Whether the message addresses the bot (mention or reply to one of its messages) and
/// its text with the mention removed.
fn addressed(mx: &Matrix, m: &OriginalSyncRoomMessageEvent, text: &str) -> (bool, String) {
    let me = mx.me.as_str();
    let localpart = mx.me.localpart();
    let mentioned = m
        .content
        .mentions
        .as_ref()
        .is_some_and(|x| x.user_ids.contains(&mx.me));
    let formatted = match &m.content.msgtype {
        MessageType::Text(t) => t.formatted.as_ref().map(|f| f.body.clone()),
        _ => None,
    }
    .unwrap_or_default();
    let in_text = text.contains(me) || formatted.contains(&format!("matrix.to/#/{me}"));
    let replied = match &m.content.relates_to {
        Some(Relation::Reply(reply)) => mx
            .own
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&reply.in_reply_to.event_id),
        _ => false,
    };
    let mut stripped = text.replace(me, "");
    for prefix in [format!("{localpart}:"), format!("@{localpart}")] {
        if let Some(rest) = stripped.trim_start().strip_prefix(&prefix) {
            stripped = rest.to_owned();
        }
    }
    (mentioned || in_text || replied, stripped.trim().to_owned())
}

/// A duration as a clock shows it: `0:12`, `3:05`, `1:02:03`.
fn clock(d: std::time::Duration) -> String {
    crate::util::clock(d.as_secs())
}

/// A quoted message's text (a caption for media, reply fallback removed) and its media
/// as the model is told (`photo`, `document: report.pdf`, `audio, 0:12`; §2.1, #135).
fn quoted_content(msg: &MessageType) -> (String, Option<String>) {
    let with_time = |kind: &str, d: Option<std::time::Duration>| match d {
        Some(d) => format!("{kind}, {}", clock(d)),
        None => kind.to_owned(),
    };
    let media = match msg {
        MessageType::Text(t) => return (strip_reply_fallback(&t.body).to_owned(), None),
        MessageType::Notice(t) => return (strip_reply_fallback(&t.body).to_owned(), None),
        MessageType::Emote(t) => return (strip_reply_fallback(&t.body).to_owned(), None),
        MessageType::Image(_) => "photo".to_owned(),
        MessageType::File(c) => {
            format!("document: {}", c.filename.as_deref().unwrap_or(&c.body))
        }
        MessageType::Audio(c) => with_time("audio", c.info.as_ref().and_then(|i| i.duration)),
        MessageType::Video(c) => with_time("video", c.info.as_ref().and_then(|i| i.duration)),
        MessageType::Location(_) => "location".to_owned(),
        other => return (other.body().to_owned(), None),
    };
    (media::caption(msg), Some(media))
}

/// The message `m` replies to, as the model is told about it: loaded from the event
/// cache or the homeserver; `None` for no reply or one that cannot be read.
async fn replied(mx: &Matrix, room: &Room, m: &OriginalSyncRoomMessageEvent) -> Option<ops::Quote> {
    let Some(Relation::Reply(reply)) = &m.content.relates_to else {
        return None;
    };
    let event = match room
        .load_or_fetch_event(&reply.in_reply_to.event_id, None)
        .await
    {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!(error = %e, "the replied-to event cannot be loaded");
            return None;
        }
    };
    let Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
        SyncMessageLikeEvent::Original(r),
    ))) = event.raw().deserialize()
    else {
        return None;
    };
    let author = if r.sender == mx.me {
        "you (your earlier answer)".to_owned()
    } else {
        r.sender.to_string()
    };
    // An edited message is quoted as it reads now (the server bundles the latest edit).
    let latest = r
        .unsigned
        .relations
        .replace
        .as_deref()
        // Only the author's own edit: another user's "edit" must not put words
        // into this quote (Synapse filters them; other servers may not).
        .filter(|edit| edit.sender == r.sender)
        .and_then(|edit| match &edit.content.relates_to {
            Some(Relation::Replacement(new)) => Some(&new.new_content.msgtype),
            _ => None,
        });
    let (text, media) = quoted_content(latest.unwrap_or(&r.content.msgtype));
    Some(ops::Quote {
        author,
        text,
        media,
    })
}

/// What `m` carries that its sender did not write: the message it replies to.
async fn origin_of(mx: &Matrix, room: &Room, m: &OriginalSyncRoomMessageEvent) -> ops::Origin {
    ops::Origin {
        quote: replied(mx, room, m).await,
        forwarded_from: None,
    }
}

fn ctx<'a>(mx: &'a Matrix, to: &Address, sender: &str, event: &OwnedEventId) -> Ctx<'a> {
    Ctx {
        ops: mx.ops(),
        address: to.clone(),
        sender: Sender {
            first_name: sender
                .trim_start_matches('@')
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned(),
            id: Some(sender.to_owned()),
        },
        message: Some(MessageRef::new(event.to_string())),
    }
}

/// Runs `work` for `key` after everything of the room that came before; beside the
/// sync loop.
fn in_order(mx: &Arc<Matrix>, key: &Address, work: impl Future<Output = ()> + Send + 'static) {
    let mut slot = mx.order.enter(key);
    tokio::spawn(async move {
        slot.wait().await;
        work.await;
        drop(slot);
    });
}

async fn message(mx: &Arc<Matrix>, room: &Room, m: OriginalSyncRoomMessageEvent) {
    if matches!(m.content.relates_to, Some(Relation::Replacement(_))) {
        return; // an edit of an earlier message: not new input
    }
    let room_id = room.room_id().to_owned();
    let sender = m.sender.to_string();
    if !mx.room_allowed(&room_id) || !mx.settings().user_allowed(&sender) {
        tracing::info!(room = %room_id, user = %sender, "ignored a message from a room or user that is not allowed");
        return;
    }
    let body = match &m.content.msgtype {
        MessageType::Text(t) => t.body.clone(),
        MessageType::Notice(t) => t.body.clone(),
        MessageType::Emote(t) => t.body.clone(),
        other => media::caption(other),
    };
    let body = strip_reply_fallback(&body).to_owned();
    let config = mx.fe.core().config.get();
    let (addressed, text) = addressed(mx, &m, &body);
    if config.group_mention_only && !addressed && !is_dm(room).await {
        return;
    }
    mx.touch(&room_id);
    let to = mx.address(&room_id);
    if config.scene.seen_reaction {
        let receipt = matrix_sdk::ruma::api::client::receipt::create_receipt::v3::ReceiptType::Read;
        if let Err(e) = room
            .send_single_receipt(receipt, ReceiptThread::Unthreaded, m.event_id.clone())
            .await
        {
            tracing::debug!(error = %e, "read receipt failed");
        }
    }
    if let Some(att) = media::attachment(&m) {
        let mx2 = mx.clone();
        let slot = mx.order.enter(&to);
        let room = room.clone();
        tokio::spawn(async move {
            let origin = origin_of(&mx2, &room, &m).await;
            let received = Received {
                event: m.event_id.clone(),
                att,
                caption: text,
                origin,
            };
            media_message(mx2, to, received, slot).await;
        });
        return;
    }
    if let Some(offered) = mx.api.choices.get(&room_id)
        && let Ok(n) = text.trim().parse::<usize>()
        && (1..=offered.actions.len()).contains(&n)
    {
        press(mx, &to, &sender, offered, n - 1);
        return;
    }
    if let Some(rest) = text.strip_prefix('!').or_else(|| text.strip_prefix('/'))
        && command(mx, &to, &sender, &m.event_id, rest)
    {
        return;
    }
    let event = m.event_id.clone();
    if ops::is_abort(mx.ops(), &text) {
        let r = ops::message(
            &ctx(mx, &to, &sender, &event),
            &text,
            &ops::Origin::default(),
        )
        .await;
        mx.fe
            .respond(&to, Some(MessageRef::new(event.to_string())), r)
            .await;
        return;
    }
    let mx2 = mx.clone();
    let key = to.clone();
    let room = room.clone();
    in_order(mx, &key, async move {
        let origin = origin_of(&mx2, &room, &m).await;
        let r = ops::message(&ctx(&mx2, &to, &sender, &event), &text, &origin).await;
        mx2.fe
            .respond(&to, Some(MessageRef::new(event.to_string())), r)
            .await;
    });
}

/// `!cmd args` / `/cmd args`; false when it is no command of ours (then it is text).
fn command(mx: &Arc<Matrix>, to: &Address, sender: &str, event: &OwnedEventId, rest: &str) -> bool {
    let (cmd, args) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(c, a)| (c, a.trim()));
    let cmd = cmd.to_ascii_lowercase();
    let Some(spec) = ops::table::lookup(&cmd) else {
        return false;
    };
    let (mx2, to2, sender, event, args) = (
        mx.clone(),
        to.clone(),
        sender.to_owned(),
        event.clone(),
        args.to_owned(),
    );
    let work = async move {
        let ctx = ctx(&mx2, &to2, &sender, &event);
        let Some(r) = ops::command(&ctx, spec.name, &args).await else {
            return;
        };
        mx2.fe
            .respond(&to2, Some(MessageRef::new(event.to_string())), r)
            .await;
    };
    if spec.immediate {
        tokio::spawn(work);
    } else {
        in_order(mx, to, work);
    }
    true
}

/// A digit reaction on the room's open choice list.
fn reaction(mx: &Arc<Matrix>, room: &Room, r: &OriginalSyncReactionEvent) {
    let room_id = room.room_id().to_owned();
    let sender = r.sender.to_string();
    if !mx.room_allowed(&room_id) || !mx.settings().user_allowed(&sender) {
        return;
    }
    let Some(offered) = mx.api.choices.get(&room_id) else {
        return;
    };
    if offered.event != r.content.relates_to.event_id {
        return;
    }
    let Some(i) = choice_of_reaction(&r.content.relates_to.key) else {
        return;
    };
    if i < offered.actions.len() {
        press(mx, &mx.address(&room_id), &sender, offered, i);
    }
}

/// Choice `i` of `offered` was taken: its action, in the room's order.
fn press(mx: &Arc<Matrix>, to: &Address, sender: &str, offered: Offered, i: usize) {
    let Some(action) = offered.actions.get(i).cloned() else {
        return;
    };
    let (mx2, to2, sender) = (mx.clone(), to.clone(), sender.to_owned());
    in_order(mx, to, async move {
        let ctx = ctx(&mx2, &to2, &sender, &offered.event);
        let response = ops::action(&ctx, action).await;
        let pressed = MessageRef::new(offered.event.to_string());
        let text = if offered.markup {
            crate::chat::html::html_to_plain(&offered.text)
        } else {
            offered.text.clone()
        };
        let toast = mx2
            .fe
            .respond_pressed(&to2, &pressed, &text, response)
            .await;
        if let Some(t) = toast {
            let _ = mx2.fe.send_message(&to2, OutMessage::plain(t), false).await;
        }
    });
}

/// A media message as it arrived.
struct Received {
    event: OwnedEventId,
    att: crate::chat::media::Attachment,
    caption: String,
    /// The message it replies to.
    origin: ops::Origin,
}

/// Stores a received file, then submits it as an `[INCOMING FILE]` turn.
async fn media_message(
    mx: Arc<Matrix>,
    to: Address,
    received: Received,
    mut slot: crate::chat::media::Slot,
) {
    let Received {
        event,
        att,
        caption,
        origin,
    } = received;
    crate::chat::api::ChatApi::typing(mx.api.as_ref(), &to).await;
    let config = mx.fe.core().config.get();
    let paths = mx.ops().core.paths.clone();
    let files_dir = paths.matrix_files_dir();
    let fetch = MxFetch::new(mx.client.clone());
    let received = crate::chat::media::receive(
        &fetch,
        &files_dir,
        &paths,
        &config,
        &att,
        chrono::Utc::now(),
    )
    .await;
    crate::chat::media::update_index(&files_dir, chrono::Utc::now()).await;
    slot.wait().await;
    let reply_to = Some(MessageRef::new(event.to_string()));
    match received {
        Ok(r) => {
            let block = crate::chat::media::prompt_block(&r, &caption, mx.fe.text());
            let prompt = ops::framed(&origin, &block);
            mx.fe.submit(&to, ops::Submit::main(prompt, reply_to)).await;
        }
        Err(e) => {
            tracing::warn!(chat = %to, error = %e, "incoming file refused");
            let reply = OutMessage::plain(e.user_message(mx.fe.text(), fetch_limit()))
                .replying_to(reply_to);
            let _ = mx.fe.send_message(&to, reply, false).await;
        }
    }
}

fn fetch_limit() -> u64 {
    media::DOWNLOAD_LIMIT
}

/// An encrypted message whose keys never came: the sender is told once.
pub async fn undecryptable(mx: &Arc<Matrix>, room: &Room, event: &OwnedEventId, sender: &str) {
    let room_id = room.room_id().to_owned();
    if !mx.room_allowed(&room_id) || !mx.settings().user_allowed(sender) {
        return;
    }
    tracing::warn!(room = %room_id, %event, "an encrypted message could not be decrypted");
    let to = mx.address(&room_id);
    let note = mx.fe.text().t("matrix.undecryptable");
    let msg = OutMessage::plain(note).replying_to(Some(MessageRef::new(event.to_string())));
    let _ = mx.fe.send_message(&to, msg, false).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_media_is_named() {
        use matrix_sdk::ruma::events::room::message::{
            AudioInfo, AudioMessageEventContent, FileMessageEventContent, ImageMessageEventContent,
            TextMessageEventContent,
        };
        use matrix_sdk::ruma::owned_mxc_uri;
        let uri = owned_mxc_uri!("mxc://x.org/abc");
        let mut file = FileMessageEventContent::plain("Q3 numbers".into(), uri.clone());
        file.filename = Some("report.pdf".into());
        assert_eq!(
            quoted_content(&MessageType::File(file)),
            ("Q3 numbers".into(), Some("document: report.pdf".into()))
        );
        let photo = ImageMessageEventContent::plain("cat.png".into(), uri.clone());
        assert_eq!(
            quoted_content(&MessageType::Image(photo)),
            (String::new(), Some("photo".into()))
        );
        let mut info = AudioInfo::new();
        info.duration = Some(std::time::Duration::from_secs(72));
        let audio =
            AudioMessageEventContent::plain("Voice message".into(), uri).info(Some(Box::new(info)));
        assert_eq!(
            quoted_content(&MessageType::Audio(audio)).1.as_deref(),
            Some("audio, 1:12")
        );
        let text = TextMessageEventContent::plain("> <@a:x> old\n\nnew words");
        assert_eq!(
            quoted_content(&MessageType::Text(text)),
            ("new words".into(), None)
        );
    }

    #[test]
    fn reply_fallbacks_are_cut_only_when_they_are_one() {
        assert_eq!(
            strip_reply_fallback("> <@a:x> hi\n> more\n\nanswer"),
            "answer"
        );
        assert_eq!(
            strip_reply_fallback("> quote\nnot a fallback"),
            "> quote\nnot a fallback"
        );
        assert_eq!(strip_reply_fallback("plain"), "plain");
    }
}
