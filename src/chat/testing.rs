//! A dialect for the unit tests of the chat layer that is no transport's:
//! `*bold*`, `_italic_`, a backslash before `*`, `_` and `\` in text, 1000
//! characters per message. It keeps the tests of this layer on the [`Dialect`]
//! seam instead of on Telegram's HTML.

use super::api::Dialect;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// The test dialect.
#[derive(Debug, Clone, Copy)]
pub struct Stars;

impl Dialect for Stars {
    fn limit(&self) -> usize {
        1000
    }

    fn render(&self, markdown: &str) -> String {
        let mut out = String::new();
        for event in Parser::new_ext(markdown, super::markers::options()) {
            match event {
                Event::Text(t) | Event::Code(t) => out.push_str(&self.escape(&t)),
                Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => out.push('*'),
                Event::Start(Tag::Emphasis) | Event::End(TagEnd::Emphasis) => out.push('_'),
                Event::SoftBreak | Event::HardBreak => out.push('\n'),
                Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => {
                    out.push_str("\n\n");
                }
                _ => {}
            }
        }
        out.trim().to_owned()
    }

    fn split(&self, markup: &str, limit: usize) -> Vec<String> {
        let chars: Vec<char> = markup.chars().collect();
        chars
            .chunks(limit.max(1))
            .map(|c| c.iter().collect())
            .collect()
    }

    fn visible_len(&self, markup: &str) -> usize {
        markup.chars().count()
    }

    fn to_plain(&self, markup: &str) -> String {
        markup.replace(['*', '_'], "")
    }

    fn escape(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if matches!(c, '*' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    fn bold(&self, markup: &str) -> String {
        format!("*{markup}*")
    }

    fn italic(&self, markup: &str) -> String {
        format!("_{markup}_")
    }
}
