//! The typed view of the `skills` config block:
//!
//! ```json
//! "skills": {"sync_enabled": true, "sync": {"claude": true, "codex": true, "gemini": true}}
//! ```
//!
//! Read forgivingly: a value of the wrong type keeps its default and is reported
//! (the caller logs each new set of problems once).

use crate::provider::ProviderKind;
use serde_json::Value;

/// Whether and where skills are synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkillSettings {
    /// `skills.sync_enabled`: false turns the whole sync off.
    pub sync_enabled: bool,
    /// `skills.sync.claude`: take part with `~/.claude/skills`.
    pub claude: bool,
    /// `skills.sync.codex`: take part with `$CODEX_HOME/skills`.
    pub codex: bool,
    /// `skills.sync.gemini`: take part with `~/.gemini/skills`.
    pub gemini: bool,
}

impl Default for SkillSettings {
    fn default() -> Self {
        Self {
            sync_enabled: true,
            claude: true,
            codex: true,
            gemini: true,
        }
    }
}

impl SkillSettings {
    /// Reads the block; the second value lists what was ignored and why.
    pub fn from_config(block: &Value) -> (Self, Vec<String>) {
        let mut s = Self::default();
        let mut problems = Vec::new();
        let obj = match block {
            Value::Object(o) => o,
            Value::Null => return (s, problems),
            other => {
                problems.push(format!("`skills` must be an object, not {other}"));
                return (s, problems);
            }
        };
        let mut flag = |key: &str, value: Option<&Value>, into: &mut bool| match value {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => *into = *b,
            Some(other) => {
                problems.push(format!("`skills.{key}` must be true or false, not {other}"));
            }
        };
        flag("sync_enabled", obj.get("sync_enabled"), &mut s.sync_enabled);
        match obj.get("sync") {
            None | Some(Value::Null) => {}
            Some(Value::Object(sync)) => {
                flag("sync.claude", sync.get("claude"), &mut s.claude);
                flag("sync.codex", sync.get("codex"), &mut s.codex);
                flag("sync.gemini", sync.get("gemini"), &mut s.gemini);
            }
            Some(other) => problems.push(format!("`skills.sync` must be an object, not {other}")),
        }
        (s, problems)
    }

    /// Whether the skills folder of `provider` takes part.
    pub fn syncs(&self, provider: ProviderKind) -> bool {
        self.sync_enabled
            && match provider {
                ProviderKind::Claude => self.claude,
                ProviderKind::Codex => self.codex,
                ProviderKind::Gemini => self.gemini,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_toggles_and_bad_values() {
        let (s, p) = SkillSettings::from_config(&json!({
            "sync_enabled": true, "sync": {"claude": true, "codex": false, "grok": true}
        }));
        assert!(p.is_empty());
        assert!(s.syncs(ProviderKind::Claude) && !s.syncs(ProviderKind::Codex));
        assert!(s.syncs(ProviderKind::Gemini), "missing toggle: default on");
        let (s, _) = SkillSettings::from_config(&json!({"sync_enabled": false}));
        assert!(!s.syncs(ProviderKind::Claude));
        let (s, p) = SkillSettings::from_config(&json!({
            "sync_enabled": "no", "sync": {"codex": 0}
        }));
        assert_eq!(s, SkillSettings::default());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("skills.sync_enabled") && p[1].contains("skills.sync.codex"));
        let (s, p) = SkillSettings::from_config(&json!([1]));
        assert_eq!((s, p.len()), (SkillSettings::default(), 1));
        assert_eq!(
            SkillSettings::from_config(&Value::Null).0,
            SkillSettings::default()
        );
    }
}
