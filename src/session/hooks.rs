//! Memory hooks (§8.5): short notes for a user's turn in the main lane, by the
//! session's message count — a brief on delegation in the system prompt of a new
//! session, then appended to the prompt a reminder to keep `MAINMEMORY.md` current
//! every 6th message, a delegation reminder every 15th, and an optional reflection
//! every `memory_reflection.every_n_messages`. The user never sees them.

use crate::config::AgentConfig;

/// Every how many messages the memory reminder comes.
const MEMORY_EVERY: u64 = 6;
/// Every how many messages the delegation reminder comes.
const DELEGATION_EVERY: u64 = 15;

const MEMORY_NOTE: &str = "If this conversation showed something durable about the person \
(a fact, a preference, a decision), add it to memory_system/MAINMEMORY.md now, as a dated \
bullet. Do it silently.";
/// Added to the system prompt of a new main-lane session.
pub const DELEGATION_BRIEF: &str = "## Delegation\n\nWork that takes more than a few minutes belongs in a \
background task (`ductor task create --name \"…\" \"<complete prompt>\"`), so this chat stays \
free; a long side conversation belongs in a named session the person opens with /session.";
const DELEGATION_NOTE: &str = "Remember: hand long work to a background task \
(`ductor task create`) instead of making the person wait.";

/// `memory_reflection` (off by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reflection {
    /// Whether it runs.
    pub enabled: bool,
    /// Every how many messages (at least 1).
    pub every: u64,
    /// The note.
    pub prompt: String,
}

impl Reflection {
    /// Reads the block; bad values fall back to the defaults.
    pub fn from_config(config: &AgentConfig) -> Self {
        let v = &config.memory_reflection;
        Self {
            enabled: v["enabled"].as_bool().unwrap_or(false),
            every: v["every_n_messages"]
                .as_u64()
                .filter(|n| *n >= 1)
                .unwrap_or(10),
            prompt: v["prompt"]
                .as_str()
                .filter(|p| !p.trim().is_empty())
                .unwrap_or(crate::config::model::REFLECTION_PROMPT)
                .to_owned(),
        }
    }
}

/// The notes for the turn that will be message number `number` (1-based) of its
/// session (`fresh`: it starts a new one). `None` when there are none.
pub fn notes(config: &AgentConfig, number: u64, fresh: bool) -> Option<String> {
    let mut notes: Vec<&str> = Vec::new();
    if !fresh && number.is_multiple_of(DELEGATION_EVERY) {
        notes.push(DELEGATION_NOTE);
    }
    if number.is_multiple_of(MEMORY_EVERY) {
        notes.push(MEMORY_NOTE);
    }
    let reflection = Reflection::from_config(config);
    if reflection.enabled && number.is_multiple_of(reflection.every) {
        notes.push(&reflection.prompt);
    }
    if notes.is_empty() {
        return None;
    }
    let mut text = String::from("[ductor note, not from the person; do not mention it]");
    for n in notes {
        text.push('\n');
        text.push_str(n.trim());
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_follow_the_message_count() {
        let config = AgentConfig::default();
        assert_eq!(
            notes(&config, 1, true),
            None,
            "the brief is in the system prompt"
        );
        assert_eq!(notes(&config, 2, false), None);
        let sixth = notes(&config, 6, false).unwrap();
        assert!(sixth.contains("MAINMEMORY") && !sixth.contains("Remember"));
        let fifteenth = notes(&config, 15, false).unwrap();
        assert!(fifteenth.contains("Remember") && !fifteenth.contains("MAINMEMORY"));
        let thirtieth = notes(&config, 30, false).unwrap();
        assert!(thirtieth.contains("Remember") && thirtieth.contains("MAINMEMORY"));
    }

    #[test]
    fn reflection_only_when_enabled_and_bad_values_fall_back() {
        let mut config = AgentConfig::default();
        assert_eq!(notes(&config, 10, false), None);
        config.memory_reflection =
            serde_json::json!({"enabled": true, "every_n_messages": 0, "prompt": "Reflect now."});
        let tenth = notes(&config, 10, false).unwrap();
        assert!(tenth.contains("Reflect now."), "{tenth}");
        config.memory_reflection = serde_json::json!({"enabled": true, "every_n_messages": 4});
        let fourth = notes(&config, 4, false).unwrap();
        assert!(fourth.len() > 60, "the default prompt is used: {fourth}");
    }
}
