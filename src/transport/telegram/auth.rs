//! Who may talk to the bot (§6.1, §13.1): private chats need the sender in
//! `allowed_user_ids`; groups need the group in `allowed_group_ids` and an allowed
//! sender; channels need `allowed_channel_ids`. Everything else is refused silently.

use crate::config::AgentConfig;

/// The kind of chat a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    /// A one-to-one chat with a user.
    Private,
    /// A group or supergroup.
    Group,
    /// A channel.
    Channel,
}

/// Whether input from `user` in `chat` is served.
pub fn allowed(config: &AgentConfig, kind: ChatKind, chat_id: i64, user: Option<i64>) -> bool {
    let user_ok = user.is_some_and(|u| config.allowed_user_ids.contains(&u));
    match kind {
        ChatKind::Private => user_ok,
        ChatKind::Group => user_ok && config.allowed_group_ids.contains(&chat_id),
        ChatKind::Channel => config.allowed_channel_ids.contains(&chat_id),
    }
}

/// Whether the chat itself is one the bot serves (whoever writes in it).
pub fn chat_allowed(config: &AgentConfig, kind: ChatKind, chat_id: i64) -> bool {
    match kind {
        ChatKind::Private => config.allowed_user_ids.contains(&chat_id),
        ChatKind::Group => config.allowed_group_ids.contains(&chat_id),
        ChatKind::Channel => config.allowed_channel_ids.contains(&chat_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_closed_rules() {
        let c = AgentConfig {
            allowed_user_ids: vec![1],
            allowed_group_ids: vec![-100],
            ..AgentConfig::default()
        };
        assert!(allowed(&c, ChatKind::Private, 1, Some(1)));
        assert!(!allowed(&c, ChatKind::Private, 2, Some(2)));
        assert!(!allowed(&c, ChatKind::Private, 1, None));
        assert!(allowed(&c, ChatKind::Group, -100, Some(1)));
        assert!(
            !allowed(&c, ChatKind::Group, -100, Some(2)),
            "allowed group, unknown user"
        );
        assert!(
            !allowed(&c, ChatKind::Group, -200, Some(1)),
            "allowed user, unknown group"
        );
        assert!(
            !allowed(&AgentConfig::default(), ChatKind::Private, 1, Some(1)),
            "empty list serves nobody"
        );
    }
}
