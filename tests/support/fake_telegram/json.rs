//! Bot API objects rendered from the fake's records: `User`, `Chat`, `Message`, `File`, ...
//!
//! Objects are complete enough for teloxide to parse them; nothing here mutates state.

use serde_json::{Value, json};

use super::state::{
    BotRec, ChatKind, ChatRec, ConvKey, FileRec, MediaKind, MsgRec, Sender, State, UserRec,
};

/// `User` for a simulated person.
pub fn user(u: &UserRec) -> Value {
    let mut v = json!({ "id": u.id, "is_bot": false, "first_name": u.first_name });
    if let Some(last) = &u.last_name {
        v["last_name"] = json!(last);
    }
    if let Some(name) = &u.username {
        v["username"] = json!(name);
    }
    if let Some(lang) = &u.language_code {
        v["language_code"] = json!(lang);
    }
    v
}

/// `User` for a bot (as `from` of its messages).
pub fn bot_user(b: &BotRec) -> Value {
    json!({ "id": b.id, "is_bot": true, "first_name": b.first_name, "username": b.username })
}

/// The full `User` returned by `getMe`.
pub fn me(b: &BotRec) -> Value {
    let mut v = bot_user(b);
    v["can_join_groups"] = json!(true);
    v["can_read_all_group_messages"] = json!(b.reads_all_group_messages);
    v["supports_inline_queries"] = json!(false);
    v["can_connect_to_business"] = json!(false);
    v["has_main_web_app"] = json!(false);
    v
}

/// `User` for any sender id known to the state.
pub fn sender(st: &State, s: Sender) -> Value {
    match s {
        Sender::Bot(id) => st.bots.get(&id).map_or_else(
            || json!({"id": id, "is_bot": true, "first_name": "Bot"}),
            bot_user,
        ),
        Sender::User(id) => st.users.get(&id).map_or_else(
            || json!({"id": id, "is_bot": false, "first_name": "User"}),
            user,
        ),
    }
}

/// `Chat` (the short form embedded in messages).
pub fn chat(st: &State, c: &ChatRec) -> Value {
    match c.kind {
        ChatKind::Private => {
            let mut v = json!({ "id": c.id, "type": "private" });
            if let Some(u) = st.users.get(&c.id) {
                v["first_name"] = json!(u.first_name);
                if let Some(last) = &u.last_name {
                    v["last_name"] = json!(last);
                }
                if let Some(name) = &u.username {
                    v["username"] = json!(name);
                }
            }
            v
        }
        ChatKind::Group => json!({ "id": c.id, "type": "group", "title": c.title }),
        ChatKind::Channel => json!({ "id": c.id, "type": "channel", "title": c.title }),
        ChatKind::Supergroup => {
            let mut v = json!({ "id": c.id, "type": "supergroup", "title": c.title });
            if let Some(name) = &c.username {
                v["username"] = json!(name);
            }
            if c.is_forum {
                v["is_forum"] = json!(true);
            }
            v
        }
    }
}

/// `ChatFullInfo` for `getChat`.
pub fn chat_full(st: &State, c: &ChatRec) -> Value {
    let mut v = chat(st, c);
    v["accent_color_id"] = json!(0);
    v["max_reaction_count"] = json!(11);
    v["accepted_gift_types"] = json!({
        "unlimited_gifts": false, "limited_gifts": false, "unique_gifts": false, "premium_subscription": false
    });
    v
}

/// `File` for `getFile`.
pub fn file(f: &FileRec) -> Value {
    json!({
        "file_id": f.file_id,
        "file_unique_id": f.file_unique_id,
        "file_size": f.data.len(),
        "file_path": f.path,
    })
}

fn media(st: &State, kind: MediaKind, files: &[String], m: &MsgRec) -> Option<Value> {
    let media = m.media.as_ref()?;
    let base = |f: &FileRec| json!({ "file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.data.len() });
    if kind == MediaKind::Photo {
        let sizes: Vec<Value> = files
            .iter()
            .filter_map(|id| st.files.get(id))
            .map(|f| {
                let mut v = base(f);
                v["width"] = json!(f.width.unwrap_or(0));
                v["height"] = json!(f.height.unwrap_or(0));
                v
            })
            .collect();
        return Some(Value::Array(sizes));
    }
    let f = st.files.get(files.first()?)?;
    let mut v = base(f);
    if let Some(mime) = &f.mime {
        v["mime_type"] = json!(mime);
    }
    if matches!(
        kind,
        MediaKind::Document | MediaKind::Audio | MediaKind::Video
    ) && let Some(name) = f.file_name.as_ref().filter(|n| !n.is_empty())
    {
        v["file_name"] = json!(name);
    }
    if matches!(kind, MediaKind::Audio | MediaKind::Video | MediaKind::Voice) {
        v["duration"] = json!(media.duration.unwrap_or(0));
    }
    if kind == MediaKind::Video {
        v["width"] = json!(f.width.unwrap_or(640));
        v["height"] = json!(f.height.unwrap_or(360));
    }
    if kind == MediaKind::Audio {
        if let Some(p) = &media.performer {
            v["performer"] = json!(p);
        }
        if let Some(t) = &media.title {
            v["title"] = json!(t);
        }
    }
    Some(v)
}

/// `Message`, with `reply_to_message` one level deep (as Telegram does).
pub fn message(st: &State, key: ConvKey, m: &MsgRec) -> Value {
    render(st, key, m, true)
}

fn render(st: &State, key: ConvKey, m: &MsgRec, with_reply: bool) -> Value {
    let chat_v = st.chats.get(&m.chat_id).map_or_else(
        || json!({"id": m.chat_id, "type": "private"}),
        |c| chat(st, c),
    );
    let mut v = json!({
        "message_id": m.id,
        "from": sender(st, m.sender),
        "chat": chat_v,
        "date": m.date,
    });
    // A channel post is signed by the channel, not by the admin who wrote it.
    let in_channel = st
        .chats
        .get(&m.chat_id)
        .is_some_and(|c| c.kind == ChatKind::Channel);
    if in_channel && matches!(m.sender, Sender::User(_)) {
        if let Some(o) = v.as_object_mut() {
            o.remove("from");
        }
        v["sender_chat"] = v["chat"].clone();
    }
    if let Some(thread) = m.thread_id {
        v["message_thread_id"] = json!(thread);
        v["is_topic_message"] = json!(true);
    }
    if let Some(t) = &m.text {
        v["text"] = json!(t.text);
        if !t.entities.is_empty() {
            v["entities"] = json!(t.entities);
        }
    }
    if let Some(media_rec) = &m.media
        && let Some(mv) = media(st, media_rec.kind, &media_rec.files, m)
    {
        v[media_rec.kind.field()] = mv;
    }
    if let Some(c) = &m.caption {
        v["caption"] = json!(c.text);
        if !c.entities.is_empty() {
            v["caption_entities"] = json!(c.entities);
        }
    }
    if let Some(origin) = &m.forward_origin {
        v["forward_origin"] = origin.clone();
    }
    if let Some(group) = &m.media_group_id {
        v["media_group_id"] = json!(group);
    }
    if let Some((field, value)) = &m.service {
        v[field.as_str()] = value.clone();
    }
    if let Some(markup) = &m.reply_markup {
        v["reply_markup"] = markup.clone();
    }
    if let Some(edit) = m.edit_date {
        v["edit_date"] = json!(edit);
    }
    if with_reply {
        // In a forum topic, a message that replies to nothing replies to the topic's first message.
        let target = m.reply_to.or(m.thread_id.filter(|t| *t != m.id));
        if let Some(target) = target
            && let Some(r) = st.convs.get(&key).and_then(|c| c.messages.get(&target))
        {
            v["reply_to_message"] = render(st, key, r, false);
        }
        if let Some(q) = &m.quote {
            v["quote"] = q.clone();
        }
    }
    v
}

/// `ChatMember` for a user value and status.
pub fn chat_member(user_v: &Value, status: &str) -> Value {
    let mut v = json!({ "user": user_v, "status": status });
    match status {
        "administrator" => {
            for flag in [
                "can_be_edited",
                "is_anonymous",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
                "can_promote_members",
            ] {
                v[flag] = json!(false);
            }
            for flag in [
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
                "can_manage_topics",
            ] {
                v[flag] = json!(true);
            }
        }
        "kicked" => v["until_date"] = json!(0),
        "creator" => v["is_anonymous"] = json!(false),
        _ => {}
    }
    v
}
