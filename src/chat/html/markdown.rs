//! Markdown → Telegram HTML: walks pulldown-cmark events and writes only the tags Telegram accepts.
//!
//! Well-formedness comes from construction: every element goes through one stack (see
//! [`Writer`]), tags are opened only when text is written inside them (no empty elements) and
//! closed in reverse order. Raw HTML in the Markdown is shown as text, never passed through.

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Parser, Tag, TagEnd};

use super::escape::escape_attr;
use super::writer::{Sep, Writer};

use crate::chat::markers::options;

/// Converts an agent's Markdown answer to HTML that Telegram's `parse_mode: "HTML"` accepts.
///
/// Why: agents answer in Markdown; Telegram only understands a small HTML subset and rejects the
/// whole message on any unknown or unbalanced tag. The output is always well-formed, even for
/// incomplete Markdown from a still-streaming answer (an unclosed fence becomes a code block to
/// the end, an unmatched `**` stays literal).
///
/// Mapping: headings → `<b>`; `**b**`/`__b__` → `<b>`; `*i*`/`_i_` → `<i>`; `~~s~~` → `<s>`;
/// `` `code` `` → `<code>`; fenced/indented code → `<pre>` (`<pre><code class="language-x">` with a
/// language); `[t](u)`, autolinks and images → `<a href="u">` for http/https/tg/mailto URLs (link
/// text only for other URLs, the URL as text if the link text is empty, the alt text for an image);
/// block quotes → one `<blockquote>` (nested quotes are flattened); thematic breaks → `———`;
/// bullets → `• `, ordered items → `1. ` (nested lists indented two spaces per level, tight
/// rendering: no blank lines between items); task items → `☐ `/`☑ `; tables → one `• a — b` line
/// per row with the header row as the first line in bold (also for a table that is the only
/// content of an unlabelled, `md`, `markdown`, `text`, `txt` or `table` fence); raw HTML →
/// escaped text. Blocks are separated by one blank line; no leading or trailing blank lines.
pub fn markdown_to_html(md: &str) -> String {
    let mut renderer = Renderer::default();
    for event in Parser::new_ext(md, options()) {
        renderer.event(event);
    }
    renderer.out.finish()
}

/// Event-to-output state on top of the [`Writer`].
#[derive(Default)]
struct Renderer {
    out: Writer,
    /// One entry per open Markdown element that may map to a tag: whether it pushed one.
    pushed: Vec<bool>,
    /// Open lists: the next number for ordered lists, `None` for bullet lists.
    lists: Vec<Option<u64>>,
    /// Open links/images that pushed an `<a>`: the URL, shown if the element has no text.
    links: Vec<String>,
    /// Text of the code or HTML block being collected.
    block: Option<Block>,
    /// Cells written so far in the current table row.
    cells: usize,
}

/// A block whose content is collected before it is written.
enum Block {
    /// A code block with its (possibly empty) language.
    Code { lang: String, text: String },
    /// A raw HTML block, shown as text.
    Html(String),
}

impl Renderer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => {
                match &mut self.block {
                    Some(Block::Code { text: buf, .. } | Block::Html(buf)) => buf.push_str(&text),
                    None => self.out.text(&text),
                }
            }
            Event::Code(code) => {
                let pushed = self.out.push("code", "<code>".into());
                self.out.text(&code);
                if pushed {
                    self.out.pop();
                }
            }
            Event::InlineMath(text) | Event::DisplayMath(text) => self.out.text(&text),
            Event::FootnoteReference(label) => self.out.text(&format!("[^{label}]")),
            Event::SoftBreak | Event::HardBreak => self.out.newline(),
            Event::Rule => {
                self.out.request(Sep::Blank);
                self.out.text("———");
                self.out.request(Sep::Blank);
            }
            Event::TaskListMarker(done) => self.out.text(if done { "☑ " } else { "☐ " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::Table(_) => self.out.request(Sep::Blank),
            Tag::Heading { .. } => {
                self.out.request(Sep::Blank);
                self.push("b", "<b>".into());
            }
            Tag::BlockQuote(_) => {
                self.out.request(Sep::Blank);
                self.push("blockquote", "<blockquote>".into());
            }
            Tag::CodeBlock(kind) => {
                self.out.request(Sep::Blank);
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.block = Some(Block::Code {
                    lang,
                    text: String::new(),
                });
            }
            Tag::HtmlBlock => {
                self.out.request(Sep::Blank);
                self.block = Some(Block::Html(String::new()));
            }
            Tag::List(first) => {
                self.out.request(Sep::Blank);
                self.lists.push(first);
            }
            Tag::Item => {
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => "• ".to_owned(),
                };
                self.out.start_item(&marker);
            }
            Tag::TableHead => {
                self.table_row();
                self.push("b", "<b>".into());
            }
            Tag::TableRow => self.table_row(),
            Tag::TableCell => {
                if self.cells > 0 {
                    self.out.text(" — ");
                }
                self.cells += 1;
            }
            Tag::Emphasis => self.push("i", "<i>".into()),
            Tag::Strong => self.push("b", "<b>".into()),
            Tag::Strikethrough => self.push("s", "<s>".into()),
            Tag::Link {
                link_type,
                dest_url,
                ..
            }
            | Tag::Image {
                link_type,
                dest_url,
                ..
            } => {
                self.start_link(link_type, &dest_url);
            }
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::Table | TagEnd::List(_) => {
                if matches!(tag, TagEnd::List(_)) {
                    self.lists.pop();
                }
                self.out.request(Sep::Blank);
            }
            TagEnd::Heading(_) | TagEnd::BlockQuote(_) => {
                self.pop();
                self.out.request(Sep::Blank);
            }
            TagEnd::CodeBlock | TagEnd::HtmlBlock => {
                self.end_block();
                self.out.request(Sep::Blank);
            }
            TagEnd::Item => self.out.end_item(),
            TagEnd::TableHead | TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.pop();
            }
            TagEnd::Link | TagEnd::Image => {
                if self.pushed.last() == Some(&true) {
                    let url = self.links.pop().unwrap_or_default();
                    if !self.out.top_is_open() {
                        self.out.text(&url);
                    }
                }
                self.pop();
            }
            TagEnd::TableRow
            | TagEnd::TableCell
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    /// Pushes an element for a Markdown start tag and remembers whether it was pushed.
    fn push(&mut self, name: &'static str, open: String) {
        let pushed = self.out.push(name, open);
        self.pushed.push(pushed);
    }

    /// Ends the element of the matching [`Self::push`].
    fn pop(&mut self) {
        if self.pushed.pop() == Some(true) {
            self.out.pop();
        }
    }

    fn start_link(&mut self, link_type: LinkType, dest: &str) {
        match link_href(link_type, dest) {
            Some(href) if !self.out.contains("a") => {
                self.push("a", format!("<a href=\"{}\">", escape_attr(&href)));
                self.links.push(href);
            }
            _ => self.pushed.push(false),
        }
    }

    fn table_row(&mut self) {
        self.out.request(Sep::Line);
        self.out.text("• ");
        self.cells = 0;
    }

    fn end_block(&mut self) {
        match self.block.take() {
            Some(Block::Html(text)) => self.out.text(text.trim()),
            Some(Block::Code { lang, text }) => {
                let content = text.strip_suffix('\n').unwrap_or(&text);
                if content.trim().is_empty() {
                    return;
                }
                if is_fenced_table(&lang, content) {
                    for event in Parser::new_ext(content, options()) {
                        self.event(event);
                    }
                    return;
                }
                let pre = self.out.push("pre", "<pre>".into());
                let code = valid_lang(&lang)
                    && self
                        .out
                        .push("code", format!("<code class=\"language-{lang}\">"));
                self.out.text(content);
                if code {
                    self.out.pop();
                }
                if pre {
                    self.out.pop();
                }
            }
            None => {}
        }
    }
}

/// The `href` for a link destination, if Telegram should get it as a link.
fn link_href(link_type: LinkType, dest: &str) -> Option<String> {
    let dest = dest.trim();
    if dest.is_empty() || dest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    if link_type == LinkType::Email {
        return Some(format!("mailto:{dest}"));
    }
    ["http://", "https://", "tg://", "mailto:"]
        .iter()
        .any(|scheme| {
            dest.len() > scheme.len()
                && dest
                    .get(..scheme.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        })
        .then(|| dest.to_owned())
}

/// A fence language usable in `class="language-…"`.
fn valid_lang(lang: &str) -> bool {
    !lang.is_empty()
        && lang.len() <= 32
        && lang
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+#.-".contains(&b))
}

/// Whether a fenced block is really a Markdown table the agent wrapped in a fence (rendered as a
/// table, not as code): its language is empty or text-like and it consists of tables only.
fn is_fenced_table(lang: &str, content: &str) -> bool {
    let text_like = ["", "md", "markdown", "text", "txt", "table"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(lang));
    if !text_like {
        return false;
    }
    let mut depth = 0usize;
    let mut tables = 0;
    for event in Parser::new_ext(content, options()) {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    if !matches!(tag, Tag::Table(_)) {
                        return false;
                    }
                    tables += 1;
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ if depth == 0 => return false,
            _ => {}
        }
    }
    tables > 0
}
