//! The `memory_flush` and `memory_compaction` blocks (§3.2) as the upkeep reads
//! them. Bad values fall back to the defaults.

use crate::config::AgentConfig;
use crate::config::model::{COMPACTION_PROMPT, FLUSH_PROMPT};
use serde_json::Value;
use std::time::Duration;

/// Memory upkeep settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Flush after a compaction.
    pub flush_enabled: bool,
    /// What the flush turn asks.
    pub flush_prompt: String,
    /// No second flush of a conversation within this (zero: no limit).
    pub dedup: Duration,
    /// Compact `MAINMEMORY.md`.
    pub compaction_enabled: bool,
    /// Compact from this many lines.
    pub trigger_lines: usize,
    /// Aim for this many lines (at most `trigger_lines`).
    pub target_lines: usize,
    /// Keep the entries of these last days verbatim.
    pub preserve_days: u64,
    /// The compaction prompt template (`{target_lines}`, `{preserve_days}`).
    pub template: String,
}

fn text(v: &Value, default: &str) -> String {
    v.as_str()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default)
        .to_owned()
}

fn count(v: &Value, default: u64) -> u64 {
    v.as_u64().filter(|n| *n >= 1).unwrap_or(default)
}

impl Settings {
    /// Reads both blocks of `config`.
    pub fn from_config(config: &AgentConfig) -> Self {
        let (f, c) = (&config.memory_flush, &config.memory_compaction);
        let trigger = usize::try_from(count(&c["trigger_lines"], 70)).unwrap_or(70);
        let target = usize::try_from(count(&c["target_lines"], 40)).unwrap_or(40);
        Self {
            flush_enabled: f["enabled"].as_bool().unwrap_or(true),
            flush_prompt: text(&f["flush_prompt"], FLUSH_PROMPT),
            dedup: Duration::from_secs(f["dedup_seconds"].as_u64().unwrap_or(300)),
            compaction_enabled: c["enabled"].as_bool().unwrap_or(true),
            trigger_lines: trigger,
            target_lines: target.min(trigger),
            preserve_days: count(&c["preserve_recency_days"], 14),
            template: text(&c["prompt"], COMPACTION_PROMPT),
        }
    }

    /// The compaction prompt; a template with an unknown placeholder is replaced by
    /// the default one.
    pub fn compaction_prompt(&self) -> String {
        let fill = |t: &str| {
            t.replace("{target_lines}", &self.target_lines.to_string())
                .replace("{preserve_days}", &self.preserve_days.to_string())
        };
        let filled = fill(&self.template);
        if filled.contains('{') && filled.contains('}') {
            return fill(COMPACTION_PROMPT);
        }
        filled
    }

    /// The fewest non-empty lines a rewrite may keep.
    pub fn floor(&self) -> usize {
        (self.target_lines / 3).max(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_placeholders_and_bad_values() {
        let s = Settings::from_config(&AgentConfig::default());
        assert!(s.flush_enabled && s.compaction_enabled);
        assert_eq!(
            (s.trigger_lines, s.target_lines, s.preserve_days),
            (70, 40, 14)
        );
        assert_eq!(s.dedup, Duration::from_mins(5));
        let p = s.compaction_prompt();
        assert!(p.contains("40 lines") && p.contains("14 days"), "{p}");
        let config = AgentConfig {
            memory_compaction: json!({"trigger_lines": 20, "target_lines": 50,
                "prompt": "Shrink to {target_lines}, {oops}"}),
            memory_flush: json!({"enabled": false, "dedup_seconds": -3}),
            ..AgentConfig::default()
        };
        let s = Settings::from_config(&config);
        assert_eq!(s.target_lines, 20, "target never above trigger");
        assert!(!s.flush_enabled);
        assert_eq!(s.dedup, Duration::from_mins(5));
        assert!(
            s.compaction_prompt().contains("COMPACT_NOOP"),
            "bad template → default"
        );
    }
}
