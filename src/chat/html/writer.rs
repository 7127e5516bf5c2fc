//! The output side of the Markdown renderer: one stack of wanted elements, lazily opened, plus
//! the block separators and list indentation. Everything written goes through here, which is what
//! keeps the HTML well-formed.

use super::escape::push_escaped;

/// Whitespace requested between two blocks; the larger request wins.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Sep {
    /// Nothing pending.
    #[default]
    None,
    /// A line break.
    Line,
    /// A blank line.
    Blank,
}

/// Builds Telegram HTML from text and element pushes/pops.
///
/// Elements are opened only when text is written inside them, so an element without text never
/// appears, and a requested separator is written before the elements that are not open yet (it
/// lands between blocks, not inside the next one).
#[derive(Debug, Default)]
pub(super) struct Writer {
    html: String,
    /// Elements wanted at this point, outermost first: name and full opening tag.
    want: Vec<(&'static str, String)>,
    /// How many of `want` (always a prefix) are open in `html`.
    opened: usize,
    pending: Sep,
    /// Right after a list marker: block separators are ignored until text follows it.
    after_marker: bool,
    wrote_any: bool,
    /// Depth of open list items (indentation of continuation lines).
    items: usize,
}

impl Writer {
    /// Asks for at least `sep` before the next text (at most a line break inside list items).
    pub fn request(&mut self, sep: Sep) {
        if self.after_marker {
            return;
        }
        let sep = if self.items > 0 {
            sep.min(Sep::Line)
        } else {
            sep
        };
        self.pending = self.pending.max(sep);
    }

    /// Wants element `name` from now on. Returns `false` (and wants nothing) if the element is
    /// already wanted: Telegram gains nothing from `<b>` in `<b>`, and links or quotes must not
    /// nest. Only a `true` push is to be matched by a [`Self::pop`].
    pub fn push(&mut self, name: &'static str, open: String) -> bool {
        if self.contains(name) {
            return false;
        }
        self.want.push((name, open));
        true
    }

    /// Whether element `name` is currently wanted.
    pub fn contains(&self, name: &str) -> bool {
        self.want.iter().any(|(n, _)| *n == name)
    }

    /// Whether the innermost wanted element has been opened, i.e. has text in it.
    pub fn top_is_open(&self) -> bool {
        !self.want.is_empty() && self.opened == self.want.len()
    }

    /// Ends the innermost wanted element, closing it if it was opened.
    pub fn pop(&mut self) {
        if self.top_is_open() {
            if let Some((name, _)) = self.want.last() {
                close(&mut self.html, name);
            }
            self.opened -= 1;
        }
        self.want.pop();
    }

    /// Writes visible text (escaped), preceded by any pending separator and opening tags.
    pub fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.flush();
        for (_, open) in &self.want[self.opened..] {
            self.html.push_str(open);
        }
        self.opened = self.want.len();
        push_escaped(&mut self.html, text);
        self.wrote_any = true;
        self.after_marker = false;
    }

    /// A line break inside a block, indented to the enclosing list item's text.
    pub fn newline(&mut self) {
        let line = format!("\n{}", indent(self.items));
        self.text(&line);
    }

    /// Starts a list item: a new line with `marker`, indented two spaces per enclosing item.
    pub fn start_item(&mut self, marker: &str) {
        self.request(Sep::Line);
        self.text(marker);
        self.items += 1;
        self.after_marker = true;
    }

    /// Ends the innermost list item.
    pub fn end_item(&mut self) {
        self.items = self.items.saturating_sub(1);
        self.after_marker = false;
        self.request(Sep::Line);
    }

    /// Writes the pending separator (only between pieces of text, never at the start).
    fn flush(&mut self) {
        let sep = std::mem::take(&mut self.pending);
        if !self.wrote_any || sep == Sep::None {
            return;
        }
        self.html
            .push_str(if sep == Sep::Blank { "\n\n" } else { "\n" });
        self.html.push_str(&indent(self.items));
    }

    /// Closes whatever is still open and returns the HTML without leading or trailing whitespace
    /// (only text can be there, never part of a tag).
    pub fn finish(mut self) -> String {
        while self.opened > 0 {
            self.opened -= 1;
            if let Some((name, _)) = self.want.get(self.opened) {
                close(&mut self.html, name);
            }
        }
        let len = self.html.trim_end().len();
        self.html.truncate(len);
        let lead = self.html.len() - self.html.trim_start().len();
        self.html.drain(..lead);
        self.html
    }
}

/// Indentation for text inside `items` nested list items: two spaces per level, capped so that
/// absurdly deep nesting cannot blow up the output.
fn indent(items: usize) -> String {
    "  ".repeat(items.min(MAX_INDENT_LEVELS))
}

/// Deepest list nesting that still adds indentation.
const MAX_INDENT_LEVELS: usize = 8;

fn close(html: &mut String, name: &str) {
    html.push_str("</");
    html.push_str(name);
    html.push('>');
}
