//! Progress indicators shown while a turn runs: tool calls and system states.
//!
//! They live only in the streaming phase: the final message shows the answer's text only.

use crate::chat::api::Dialect;

/// One progress indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Indicator {
    /// A tool call, with its display name (already normalised).
    Tool(String),
    /// The model started reasoning.
    Thinking,
    /// The CLI compacts its context.
    Compacting,
    /// The caller recovers from a failure (e.g. a stale session) and retries.
    Recovering,
}

impl Indicator {
    /// The indicator in the chat's markup: tools bold, system states italic; `count` > 1
    /// adds ` xN`.
    pub(super) fn markup(&self, m: &dyn Dialect, count: u32) -> String {
        let times = if count > 1 {
            format!(" x{count}")
        } else {
            String::new()
        };
        match self {
            Indicator::Tool(name) => m.bold(&m.escape(&format!("[TOOL: {name}]{times}"))),
            Indicator::Thinking => m.italic(&m.escape(&format!("[THINKING]{times}"))),
            Indicator::Compacting => m.italic(&m.escape(&format!("[COMPACTING]{times}"))),
            Indicator::Recovering => {
                m.italic(&m.escape(&format!("[Please wait, recovering...]{times}")))
            }
        }
    }
}

/// An indicator placed in the streamed text: it happened when `at` bytes of the text were shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mark {
    /// Byte offset into the turn's text where the indicator belongs.
    pub at: usize,
    /// What happened.
    pub indicator: Indicator,
    /// How many times in a row it happened with no text in between.
    pub count: u32,
}

/// Adds `indicator` at text offset `at`, collapsing it into the previous mark when that is the
/// same indicator and no visible text came in between (`text` is the turn's text so far).
pub(super) fn push_mark(marks: &mut Vec<Mark>, text: &str, at: usize, indicator: Indicator) {
    if let Some(last) = marks.last_mut() {
        let between = text.get(last.at.min(at)..at).unwrap_or("");
        if last.indicator == indicator && between.trim().is_empty() {
            last.count += 1;
            return;
        }
    }
    marks.push(Mark {
        at,
        indicator,
        count: 1,
    });
}

/// The name shown for a tool: shells, searches and web tools of the three CLIs get one common
/// name each; everything else is shown as the CLI reports it.
pub(super) fn tool_display_name(name: &str) -> String {
    let shown = match name.trim().to_ascii_lowercase().as_str() {
        "bash" | "powershell" | "cmd" | "sh" | "zsh" | "shell" | "command_execution"
        | "run_shell_command" | "exec_command" => "Shell",
        "toolsearch" | "searchtool" => "Search",
        "webfetch" | "web_fetch" => "Web fetch",
        "websearch" | "web_search" | "google_web_search" => "Web search",
        _ => return name.trim().to_owned(),
    };
    shown.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_normalised() {
        for shell in [
            "Bash",
            "powershell",
            "CMD",
            "run_shell_command",
            "exec_command",
        ] {
            assert_eq!(tool_display_name(shell), "Shell", "{shell}");
        }
        assert_eq!(tool_display_name("ToolSearch"), "Search");
        assert_eq!(tool_display_name("WebFetch"), "Web fetch");
        assert_eq!(tool_display_name("google_web_search"), "Web search");
        assert_eq!(tool_display_name("WebSearch"), "Web search");
        assert_eq!(tool_display_name("Read"), "Read");
        assert_eq!(
            tool_display_name("github.create_issue"),
            "github.create_issue"
        );
    }

    #[test]
    fn indicators_render_bold_or_italic_with_counts() {
        let m = &crate::chat::testing::Stars;
        assert_eq!(
            Indicator::Tool("a*b".into()).markup(m, 3),
            "*[TOOL: a\\*b] x3*"
        );
        assert_eq!(Indicator::Thinking.markup(m, 1), "_[THINKING]_");
        assert_eq!(
            Indicator::Recovering.markup(m, 1),
            "_[Please wait, recovering...]_"
        );
    }

    #[test]
    fn consecutive_duplicates_collapse_unless_text_in_between() {
        let text = "Hello\n\nWorld";
        let mut marks = Vec::new();
        push_mark(&mut marks, text, 5, Indicator::Tool("Shell".into()));
        push_mark(&mut marks, text, 7, Indicator::Tool("Shell".into()));
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].count, 2);
        push_mark(&mut marks, text, 7, Indicator::Tool("Read".into()));
        push_mark(&mut marks, text, 7, Indicator::Tool("Shell".into()));
        assert_eq!(marks.len(), 3);
        push_mark(&mut marks, text, 12, Indicator::Tool("Shell".into()));
        assert_eq!(marks.len(), 4, "text between two marks keeps them apart");
    }
}
