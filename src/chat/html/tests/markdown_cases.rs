//! Exact Markdown → HTML mappings (reference §6.4 and §14.2 items 23–25).

use super::super::markdown_to_html;
use super::checker::check;

/// Asserts each `(markdown, html)` pair and that the expected HTML passes the checker.
fn assert_cases(cases: &[(&str, &str)]) {
    for (md, want) in cases {
        let got = markdown_to_html(md);
        assert_eq!(got, *want, "markdown {md:?}");
        check(&got).unwrap();
    }
}

#[test]
fn plain_text_and_code_are_escaped_exactly_once() {
    assert_cases(&[
        ("Hello <world>", "Hello &lt;world&gt;"),
        ("AT&T & co", "AT&amp;T &amp; co"),
        ("a &lt; b", "a &lt; b"),
        (
            "`a < b && &amp;`",
            "<code>a &lt; b &amp;&amp; &amp;amp;</code>",
        ),
        (
            "```\nif a < b && c > d {}\n```",
            "<pre>if a &lt; b &amp;&amp; c &gt; d {}</pre>",
        ),
        ("say \"hi\"", "say \"hi\""),
    ]);
}

#[test]
fn inline_styles() {
    assert_cases(&[
        ("**b** __b__", "<b>b</b> <b>b</b>"),
        ("*i* _i_", "<i>i</i> <i>i</i>"),
        ("~~gone~~", "<s>gone</s>"),
        ("`x`", "<code>x</code>"),
        ("***both***", "<i><b>both</b></i>"),
        ("**bold `code` bold**", "<b>bold <code>code</code> bold</b>"),
        ("**outer **inner** outer**", "<b>outer inner outer</b>"),
        ("snake_case_name", "snake_case_name"),
        ("2 * 3 * 4", "2 * 3 * 4"),
    ]);
}

#[test]
fn headings_become_bold_paragraphs() {
    assert_cases(&[
        ("# Title\ntext", "<b>Title</b>\n\ntext"),
        ("## **Bold** title", "<b>Bold title</b>"),
        ("Setext\n======\n\nbody", "<b>Setext</b>\n\nbody"),
        ("#", ""),
    ]);
}

#[test]
fn code_blocks() {
    assert_cases(&[
        (
            "```rust\nfn main() {}\n```",
            "<pre><code class=\"language-rust\">fn main() {}</code></pre>",
        ),
        ("```\nplain\n```", "<pre>plain</pre>"),
        (
            "~~~sh\nls\n~~~",
            "<pre><code class=\"language-sh\">ls</code></pre>",
        ),
        (
            "```c++ extra words\nx\n```",
            "<pre><code class=\"language-c++\">x</code></pre>",
        ),
        ("```we\"ird\nx\n```", "<pre>x</pre>"),
        ("    indented\n    code", "<pre>indented\ncode</pre>"),
        (
            "```\n  keep\n    indent\n```",
            "<pre>  keep\n    indent</pre>",
        ),
        ("```\n\n```", ""),
    ]);
}

#[test]
fn links_and_images() {
    assert_cases(&[
        (
            "[docs](https://example.com/a?b=1&c=2)",
            "<a href=\"https://example.com/a?b=1&amp;c=2\">docs</a>",
        ),
        (
            "[q](https://x.org/\"q\")",
            "<a href=\"https://x.org/&quot;q&quot;\">q</a>",
        ),
        (
            "[chat](tg://resolve?domain=x)",
            "<a href=\"tg://resolve?domain=x\">chat</a>",
        ),
        ("[mail](mailto:a@b.c)", "<a href=\"mailto:a@b.c\">mail</a>"),
        ("[evil](javascript:alert(1))", "evil"),
        ("[file](src/main.rs)", "file"),
        (
            "<https://auto.link/x>",
            "<a href=\"https://auto.link/x\">https://auto.link/x</a>",
        ),
        (
            "<me@example.org>",
            "<a href=\"mailto:me@example.org\">me@example.org</a>",
        ),
        (
            "[](https://empty.text)",
            "<a href=\"https://empty.text\">https://empty.text</a>",
        ),
        (
            "![a cat](https://img.example/cat.png)",
            "<a href=\"https://img.example/cat.png\">a cat</a>",
        ),
        ("![local](./cat.png)", "local"),
        (
            "[![img](https://i.example/x)](https://outer.example)",
            "<a href=\"https://outer.example\">img</a>",
        ),
        (
            "[**bold** link](https://x.y)",
            "<a href=\"https://x.y\"><b>bold</b> link</a>",
        ),
    ]);
}

#[test]
fn block_quotes() {
    assert_cases(&[
        ("> one\n> two", "<blockquote>one\ntwo</blockquote>"),
        ("> one\n>\n> two", "<blockquote>one\n\ntwo</blockquote>"),
        ("> a\n> > nested", "<blockquote>a\n\nnested</blockquote>"),
        (
            "before\n\n> q\n\nafter",
            "before\n\n<blockquote>q</blockquote>\n\nafter",
        ),
        (
            "> # Head\n> - item",
            "<blockquote><b>Head</b>\n\n• item</blockquote>",
        ),
    ]);
}

#[test]
fn rules_and_paragraphs() {
    assert_cases(&[
        ("a\n\n---\n\nb", "a\n\n———\n\nb"),
        ("***", "———"),
        ("\n\n\npara\n\n\n\n\npara2\n\n\n", "para\n\npara2"),
        ("soft\nbreak", "soft\nbreak"),
        ("hard  \nbreak\\\nagain", "hard\nbreak\nagain"),
        ("windows\r\nlines\r\n\r\npara", "windows\nlines\n\npara"),
    ]);
}

#[test]
fn lists() {
    assert_cases(&[
        ("- a\n- b", "• a\n• b"),
        ("* a\n+ b", "• a\n\n• b"),
        ("1. one\n2. two", "1. one\n2. two"),
        ("3. three\n4. four", "3. three\n4. four"),
        ("- a\n  - b\n    - c\n- d", "• a\n  • b\n    • c\n• d"),
        ("1. a\n   - b", "1. a\n  • b"),
        (
            "- loose\n\n  second para\n\n- next",
            "• loose\n  second para\n• next",
        ),
        ("- line one\n  line two", "• line one\n  line two"),
        ("- [ ] todo\n- [x] done", "• ☐ todo\n• ☑ done"),
        ("text\n- after", "text\n\n• after"),
        ("- a\n\nafter", "• a\n\nafter"),
        ("- ```\n  code\n  ```", "• <pre>code</pre>"),
    ]);
}

#[test]
fn tables_become_bullet_lines_with_a_bold_header() {
    assert_cases(&[
        ("| a | b |\n|---|---|\n| 1 | 2 |", "• <b>a — b</b>\n• 1 — 2"),
        (
            "| x | y | z |\n|:-|:-:|-:|\n| **1** | `2` | 3 |\n| 4 | | 6 |",
            "• <b>x — y — z</b>\n• <b>1</b> — <code>2</code> — 3\n• 4 —  — 6",
        ),
        (
            "before\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter",
            "before\n\n• <b>a — b</b>\n• 1 — 2\n\nafter",
        ),
        // An agent wrapping a table in a fence still gets a table (§14.2 item 25)...
        (
            "```\n| a | b |\n|---|---|\n| 1 | 2 |\n```",
            "• <b>a — b</b>\n• 1 — 2",
        ),
        (
            "```markdown\n| a | b |\n|---|---|\n| 1 | 2 |\n```",
            "• <b>a — b</b>\n• 1 — 2",
        ),
        // ...but code that merely contains pipes stays code.
        (
            "```sh\n| a | b |\n|---|---|\n```",
            "<pre><code class=\"language-sh\">| a | b |\n|---|---|</code></pre>",
        ),
        (
            "```\n| a | b |\n|---|---|\nnot a row\n\ntext\n```",
            "<pre>| a | b |\n|---|---|\nnot a row\n\ntext</pre>",
        ),
    ]);
}

#[test]
fn raw_html_is_shown_as_text() {
    assert_cases(&[
        ("<b>not bold</b>", "&lt;b&gt;not bold&lt;/b&gt;"),
        ("<div>\nblock\n</div>", "&lt;div&gt;\nblock\n&lt;/div&gt;"),
        (
            "x <script>alert(1)</script> y",
            "x &lt;script&gt;alert(1)&lt;/script&gt; y",
        ),
        ("<!-- note -->", "&lt;!-- note --&gt;"),
    ]);
}

#[test]
fn incomplete_markdown_mid_stream_stays_well_formed() {
    assert_cases(&[
        ("**unclosed bold", "**unclosed bold"),
        (
            "```python\nprint(1)\nstill going",
            "<pre><code class=\"language-python\">print(1)\nstill going</code></pre>",
        ),
        ("```", ""),
        ("[half a link](https://exa", "[half a link](https://exa"),
        ("| a | b |\n|---|", "| a | b |\n|---|"),
        ("> quote\n- ", "<blockquote>quote</blockquote>\n\n•"),
    ]);
}

#[test]
fn ui_lines_keep_their_indent_and_escapes() {
    // The UI catalogue indents continuation lines with no-break spaces (plain spaces
    // would be stripped as Markdown indentation) and escapes user values.
    assert_cases(&[
        (
            "**name** · 3 message(s)\n\u{a0}\u{a0}\u{a0}\u{a0}_Fix the export_",
            "<b>name</b> · 3 message(s)\n\u{a0}\u{a0}\u{a0}\u{a0}<i>Fix the export</i>",
        ),
        ("\\[OK\\] **a\\_b \\<x\\>**", "[OK] <b>a_b &lt;x&gt;</b>"),
        ("Usage: /session <prompt>", "Usage: /session &lt;prompt&gt;"),
    ]);
}
