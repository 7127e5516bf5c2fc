//! Building Markdown safely: the UI speaks one dialect (Markdown, rendered by each
//! transport), so values put into it (names, paths, errors) must not turn into markup.

/// `s` with every character that Markdown could read as markup escaped by a backslash
/// (`CommonMark` allows a backslash before any ASCII punctuation).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '|' | '!' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` on one line (line breaks and runs of whitespace become one space), escaped:
/// for values shown inside a line (errors, previews), which must not start a list, a
/// heading or a code block of their own.
pub fn one_line(s: &str) -> String {
    escape(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `s` as an inline code span: fenced with more backticks than it contains, padded
/// when it starts or ends with a backtick; line breaks become spaces.
pub fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if s.is_empty() {
        return "` `".to_owned();
    }
    if s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' ')) {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_has_no_markup() {
        assert_eq!(escape("a_b *c* [d](e) <f>"), r"a\_b \*c\* \[d\](e) \<f\>");
        assert_eq!(escape("plain text 1.5"), "plain text 1.5");
    }

    #[test]
    fn one_line_values_cannot_start_blocks() {
        assert_eq!(
            one_line("boom\n- not a list\n    code"),
            "boom - not a list code"
        );
        assert_eq!(one_line("a_b"), "a\\_b");
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("gpt-5.5"), "`gpt-5.5`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("two\nlines"), "`two lines`");
    }
}
