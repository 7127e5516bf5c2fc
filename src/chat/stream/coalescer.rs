//! Decides how much of the arriving text is shown: nothing until enough text or a pause, then
//! through paragraph or sentence ends, so a live message grows in readable steps.

use std::time::Duration;

use tokio::time::Instant;

use super::text::floor_boundary;

/// Flush thresholds (from the `streaming` config).
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules {
    /// Characters buffered before a break may be flushed.
    pub min_chars: usize,
    /// Characters buffered that force a flush of everything.
    pub max_chars: usize,
    /// Silence after which everything buffered is flushed.
    pub idle: Duration,
    /// Whether a sentence end may end a flush (else only paragraph breaks).
    pub sentence_break: bool,
}

/// How much of the text is flushed, and when the idle flush is due.
#[derive(Debug, Default)]
pub(super) struct Coalescer {
    /// Byte offset into the turn's text up to which text is flushed (may be shown).
    flushed: usize,
    /// When buffered text gets flushed for lack of new text.
    idle_deadline: Option<Instant>,
    /// Since when text has been waiting unflushed.
    pending_since: Option<Instant>,
}

/// How long text may wait for a paragraph or sentence end before it is flushed
/// through the last line break or word anyway (code, lists and unpunctuated text
/// would otherwise stay invisible until `max_chars`).
fn stale_after(rules: &Rules) -> Duration {
    rules.idle * 3
}

impl Coalescer {
    /// Bytes of the text that are flushed.
    pub(super) fn flushed(&self) -> usize {
        self.flushed
    }

    /// When the idle flush is due, if text is buffered.
    pub(super) fn idle_deadline(&self) -> Option<Instant> {
        self.idle_deadline
    }

    /// New text arrived (or the text was replaced): flushes per `rules` and restarts the idle
    /// timer. Returns whether the flushed offset moved.
    pub(super) fn on_text(&mut self, text: &str, rules: &Rules, now: Instant) -> bool {
        let before = self.flushed;
        self.flushed = floor_boundary(text, self.flushed);
        let pending = &text[self.flushed..];
        let chars = pending.chars().count();
        let since = *self.pending_since.get_or_insert(now);
        if chars >= rules.max_chars.max(1) {
            self.flushed = text.len();
        } else if chars >= rules.min_chars {
            let stale = now.duration_since(since) >= stale_after(rules);
            let end = break_end(pending, rules.sentence_break).or_else(|| {
                let lines = pending.rfind('\n').map(|i| i + 1);
                if stale {
                    lines.or_else(|| pending.rfind(char::is_whitespace).map(|i| i + 1))
                } else {
                    lines.filter(|_| rules.sentence_break)
                }
            });
            if let Some(end) = end.filter(|&e| e > 0 && !pending[..e].trim().is_empty()) {
                self.flushed += end;
            }
        }
        if self.flushed == text.len() {
            self.pending_since = None;
        } else if self.flushed != before {
            self.pending_since = Some(now);
        }
        self.idle_deadline = (self.flushed < text.len()).then(|| now + rules.idle);
        self.flushed != before
    }

    /// Flushes everything (idle timeout, tool/system event, end of turn). Returns whether the
    /// flushed offset moved.
    pub(super) fn flush_all(&mut self, text: &str) -> bool {
        self.idle_deadline = None;
        self.pending_since = None;
        let moved = self.flushed != text.len();
        self.flushed = text.len();
        moved
    }
}

/// Where the best flush of `pending` ends: after its last blank line, else (if allowed) after
/// the whitespace following its last sentence end.
fn break_end(pending: &str, sentence_break: bool) -> Option<usize> {
    // A blank line right at the start (the joiner before a new block) shows nothing new.
    if let Some(i) = pending
        .rfind("\n\n")
        .filter(|&i| !pending[..i].trim().is_empty())
    {
        return Some(i + 2);
    }
    if !sentence_break {
        return None;
    }
    let mut end = None;
    let mut prev = None;
    for (i, ch) in pending.char_indices() {
        if ch.is_whitespace() && matches!(prev, Some('.' | '!' | '?')) {
            end = Some(i + ch.len_utf8());
        }
        prev = Some(ch);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            min_chars: 10,
            max_chars: 40,
            idle: Duration::from_millis(800),
            sentence_break: true,
        }
    }

    #[test]
    fn nothing_is_flushed_below_min_chars_but_the_idle_timer_runs() {
        let mut c = Coalescer::default();
        let now = Instant::now();
        assert!(!c.on_text("Hi. There", &rules(), now));
        assert_eq!(c.flushed(), 0);
        assert_eq!(c.idle_deadline(), Some(now + Duration::from_millis(800)));
    }

    #[test]
    fn paragraph_breaks_win_over_sentence_ends() {
        let mut c = Coalescer::default();
        let text = "First para.\n\nSecond one. More";
        assert!(c.on_text(text, &rules(), Instant::now()));
        assert_eq!(&text[..c.flushed()], "First para.\n\n");
    }

    #[test]
    fn a_leading_blank_line_does_not_hide_a_sentence_end() {
        let mut c = Coalescer::default();
        let text = "\n\nNew block. And more";
        assert!(c.on_text(text, &rules(), Instant::now()));
        assert_eq!(&text[..c.flushed()], "\n\nNew block. ");
    }

    #[test]
    fn sentence_ends_flush_when_allowed() {
        let text = "One sentence. Two sentences! Three";
        let mut c = Coalescer::default();
        c.on_text(text, &rules(), Instant::now());
        assert_eq!(&text[..c.flushed()], "One sentence. Two sentences! ");
        let mut no_sentences = Coalescer::default();
        let r = Rules {
            sentence_break: false,
            ..rules()
        };
        assert!(!no_sentences.on_text(text, &r, Instant::now()));
    }

    #[test]
    fn line_breaks_flush_code_and_lists() {
        let text = "- item one\n- item two\n- item";
        let mut c = Coalescer::default();
        c.on_text(text, &rules(), Instant::now());
        assert_eq!(&text[..c.flushed()], "- item one\n- item two\n");
    }

    #[test]
    fn a_long_unpunctuated_stream_is_flushed_by_words_once_stale() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        let r = rules();
        assert!(!c.on_text("word word word", &r, t0));
        assert!(!c.on_text("word word word word", &r, t0 + Duration::from_millis(500)));
        assert!(c.on_text("word word word word word", &r, t0 + stale_after(&r)));
        assert_eq!(c.flushed(), "word word word word ".len());
    }

    #[test]
    fn max_chars_flushes_everything_and_stops_the_timer() {
        let text = "x".repeat(45);
        let mut c = Coalescer::default();
        c.on_text(&text, &rules(), Instant::now());
        assert_eq!(c.flushed(), 45);
        assert_eq!(c.idle_deadline(), None);
    }

    #[test]
    fn a_shrinking_text_pulls_the_offset_back_to_a_boundary() {
        let mut c = Coalescer::default();
        c.flush_all("ééé");
        c.on_text("é", &rules(), Instant::now());
        assert_eq!(c.flushed(), 2);
    }
}
