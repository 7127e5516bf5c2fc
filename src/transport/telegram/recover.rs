//! Updates teloxide cannot read are not dropped silently. A field or value from a
//! newer Bot API (e.g. the `date_time` entity of 9.5) makes teloxide give up on a
//! whole update, or read a text message as an empty one. Updates are therefore
//! fetched raw ([`GetUpdatesRaw`]); one that teloxide reads badly is read again
//! without what ductor does not need (formatting entities first, then everything
//! but the message's core fields), and one that still fails is logged with its kind.

use serde::Serialize;
use serde_json::{Map, Value};
use teloxide::requests::Payload;
use teloxide::types::{MessageKind, Update, UpdateKind};

/// `getUpdates`, answered with the raw JSON of each update.
#[derive(Debug, Clone, Serialize)]
pub struct GetUpdatesRaw {
    /// First update id wanted.
    pub offset: i32,
    /// Long-poll seconds.
    pub timeout: u32,
    /// Update kinds wanted (Bot API names; newer ones than teloxide knows too).
    pub allowed_updates: Vec<&'static str>,
}

impl Payload for GetUpdatesRaw {
    type Output = Vec<Value>;
    const NAME: &'static str = "GetUpdates";

    fn timeout_hint(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(self.timeout.into()))
    }
}

/// Keys of a message that carry what a user sent.
const CONTENT: &[&str] = &[
    "text",
    "caption",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "video_note",
    "sticker",
];

/// One raw update as ductor reads it; `None` when it cannot be read at all (logged).
pub fn read(raw: &Value) -> Option<Update> {
    let typed = readable_any(raw);
    if let Some(u) = typed.as_ref().filter(|u| !lost_content(u, raw)) {
        return Some(u.clone());
    }
    match recover(raw) {
        Recovered::Update(u) => {
            tracing::warn!(
                update = u.id.0,
                "an update with fields this version does not know was read without them"
            );
            Some(*u)
        }
        Recovered::Unreadable(kind) => {
            tracing::warn!(kind, "an update this version cannot read was skipped");
            None
        }
    }
}

/// Whether teloxide's reading lost what the user sent (an error, or a message read
/// as empty although it has content).
fn lost_content(u: &Update, raw: &Value) -> bool {
    match &u.kind {
        UpdateKind::Error(_) => true,
        UpdateKind::Message(m) | UpdateKind::ChannelPost(m) => {
            let key = if matches!(u.kind, UpdateKind::Message(_)) {
                "message"
            } else {
                "channel_post"
            };
            matches!(m.kind, MessageKind::Empty {})
                && raw
                    .get(key)
                    .and_then(Value::as_object)
                    .is_some_and(|o| CONTENT.iter().any(|k| o.contains_key(*k)))
        }
        _ => false,
    }
}

/// Fields of a message that ductor reads besides its [`CONTENT`]; together enough
/// for teloxide to accept it.
const CORE: &[&str] = &[
    "message_id",
    "message_thread_id",
    "is_topic_message",
    "from",
    "sender_chat",
    "chat",
    "date",
    "reply_to_message",
    "quote",
    "forward_origin",
    "media_group_id",
];

/// What a raw update could be turned into.
#[derive(Debug)]
pub enum Recovered {
    /// Readable after dropping what ductor does not use.
    Update(Box<Update>),
    /// Not readable: the update's kind, for the log.
    Unreadable(String),
}

/// Reads `raw` (the JSON of one update) as well as possible.
pub fn recover(raw: &Value) -> Recovered {
    let kind = raw
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "update_id").cloned())
        .unwrap_or_else(|| "unknown".into());
    let mut lean = raw.clone();
    drop_entities(&mut lean);
    if let Some(u) = readable(&lean) {
        return Recovered::Update(Box::new(u));
    }
    if let Some(obj) = lean.as_object_mut() {
        for (key, value) in obj.iter_mut() {
            if key != "update_id" {
                keep_core(value);
            }
        }
    }
    match readable(&lean) {
        Some(u) => Recovered::Update(Box::new(u)),
        None => Recovered::Unreadable(kind),
    }
}

/// `v` as teloxide reads it (from text: its flattened update kind does not read
/// from a `Value`).
fn readable_any(v: &Value) -> Option<Update> {
    serde_json::from_str(&v.to_string()).ok()
}

fn readable(v: &Value) -> Option<Update> {
    readable_any(v).filter(|u| !lost_content(u, v))
}

/// Removes formatting entities everywhere (their kinds grow with every Bot API).
fn drop_entities(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("entities");
            o.remove("caption_entities");
            o.values_mut().for_each(drop_entities);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_entities),
        _ => {}
    }
}

/// Keeps only the [`CORE`] and [`CONTENT`] fields of a message (and of the message a callback
/// query carries, or a message replies to).
fn keep_core(v: &mut Value) {
    let Some(o) = v.as_object_mut() else { return };
    if o.contains_key("message_id") && o.contains_key("chat") {
        let kept: Map<String, Value> = std::mem::take(o)
            .into_iter()
            .filter(|(k, _)| CORE.contains(&k.as_str()) || CONTENT.contains(&k.as_str()))
            .collect();
        *o = kept;
        if let Some(r) = o.get_mut("reply_to_message") {
            keep_core(r);
        }
    } else if let Some(m) = o.get_mut("message") {
        keep_core(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(extra: Value) -> Value {
        let mut m = json!({
            "message_id": 7,
            "date": 1_767_000_000,
            "chat": {"id": 42, "type": "private", "first_name": "Ada"},
            "from": {"id": 42, "is_bot": false, "first_name": "Ada"},
            "text": "meet at 10:00 tomorrow",
        });
        if let Value::Object(extra) = extra {
            m.as_object_mut().unwrap().extend(extra);
        }
        json!({"update_id": 9, "message": m})
    }

    #[test]
    fn a_message_with_a_newer_entity_is_read_without_it() {
        let raw = message(json!({"entities": [{"type": "date_time", "offset": 8, "length": 5}]}));
        let plain = serde_json::from_str::<Update>(&raw.to_string()).unwrap();
        assert!(lost_content(&plain, &raw), "teloxide alone loses the text");
        let u = read(&raw).expect("recovered");
        let UpdateKind::Message(m) = u.kind else {
            panic!("{:?}", u.kind)
        };
        assert_eq!(m.text(), Some("meet at 10:00 tomorrow"));
    }

    #[test]
    fn a_channel_post_with_a_newer_entity_is_read_without_it() {
        let mut raw =
            message(json!({"entities": [{"type": "date_time", "offset": 8, "length": 5}]}));
        let mut post = raw["message"].take();
        post.as_object_mut().unwrap().remove("from");
        post["chat"] = json!({"id": -100_123, "type": "channel", "title": "News"});
        post["sender_chat"] = post["chat"].clone();
        raw = json!({"update_id": 9, "channel_post": post});
        let plain = serde_json::from_str::<Update>(&raw.to_string()).unwrap();
        assert!(lost_content(&plain, &raw), "teloxide alone loses the text");
        let u = read(&raw).expect("recovered");
        let UpdateKind::ChannelPost(m) = u.kind else {
            panic!("{:?}", u.kind)
        };
        assert_eq!(m.text(), Some("meet at 10:00 tomorrow"));
    }

    #[test]
    fn unknown_fields_beyond_entities_fall_back_to_the_core() {
        let raw = message(json!({"checklist": {"title": 5}, "link_preview_options": "nonsense"}));
        match recover(&raw) {
            Recovered::Update(u) => assert!(matches!(u.kind, UpdateKind::Message(_))),
            Recovered::Unreadable(kind) => panic!("{kind}"),
        }
        let garbage = json!({"update_id": 3, "purchased_paid_media": {"x": 1}});
        match recover(&garbage) {
            Recovered::Unreadable(kind) => assert_eq!(kind, "purchased_paid_media"),
            Recovered::Update(u) => panic!("{u:?}"),
        }
    }
}
