//! The text of a turn, following the event text contract: deltas build the current block, a
//! `Text` event replaces them with the authoritative block, blocks are joined by a blank line.

/// The turn's text as one string, kept up to date on every text event.
#[derive(Debug, Default)]
pub(super) struct Transcript {
    /// All blocks so far, joined by `"\n\n"`, the current (unfinished) block last.
    text: String,
    /// Length of `text` before the current block and its joiner, while a block is open.
    open_block_base: Option<usize>,
}

impl Transcript {
    /// The text so far.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// Appends a live piece of the current block.
    pub(super) fn delta(&mut self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        if self.open_block_base.is_none() {
            self.open_block_base = Some(self.text.len());
            if !self.text.is_empty() {
                self.text.push_str("\n\n");
            }
        }
        self.text.push_str(piece);
    }

    /// Ends the current block with its authoritative text, replacing its deltas. A blank block
    /// adds nothing.
    pub(super) fn block(&mut self, whole: &str) {
        let base = self.open_block_base.take().unwrap_or(self.text.len());
        self.text.truncate(base);
        if whole.trim().is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        self.text.push_str(whole);
    }
}

/// The largest char boundary of `s` at or below `at` (clamped to the length).
pub(super) fn floor_boundary(s: &str, at: usize) -> usize {
    s.floor_char_boundary(at)
}

/// Length in bytes of the longest common prefix of `a` and `b`, on a char boundary.
pub(super) fn common_prefix_len(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_replaces_the_deltas_of_its_block_only() {
        let mut t = Transcript::default();
        t.delta("Hel");
        t.delta("lo");
        t.block("Hello there.");
        assert_eq!(t.text(), "Hello there.");
        t.delta("Par");
        assert_eq!(t.text(), "Hello there.\n\nPar");
        t.block("Partial stream was broken; this is the full block.");
        assert_eq!(
            t.text(),
            "Hello there.\n\nPartial stream was broken; this is the full block."
        );
        t.block("Third without deltas");
        assert!(t.text().ends_with("block.\n\nThird without deltas"));
    }

    #[test]
    fn blank_blocks_add_nothing() {
        let mut t = Transcript::default();
        t.block("  ");
        assert_eq!(t.text(), "");
        t.delta("x");
        t.block("");
        assert_eq!(t.text(), "");
        t.delta("a");
        assert_eq!(t.text(), "a");
    }

    #[test]
    fn common_prefix_respects_char_boundaries() {
        assert_eq!(common_prefix_len("héllo", "héllp"), 5);
        assert_eq!(common_prefix_len("é", "è"), 0);
        assert_eq!(common_prefix_len("abc", "ab"), 2);
        assert_eq!(floor_boundary("é", 1), 0);
        assert_eq!(floor_boundary("ab", 9), 2);
    }
}
