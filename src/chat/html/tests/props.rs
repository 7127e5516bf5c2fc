//! Property-style tests over generated Markdown: whatever the agent writes, Telegram gets
//! well-formed HTML in chunks within the limit, and no text is lost.

use super::super::{html_to_plain, markdown_to_html, split_html, visible_len};
use super::checker::{Rng, check, visible};
use crate::chat::markers::{extract_buttons, extract_file_tags, stream_safe_prefix};

/// Pieces the generator glues together: Markdown syntax, HTML-ish characters, wide characters.
const PIECES: &[&str] = &[
    "**",
    "__",
    "_",
    "*",
    "~~",
    "`",
    "``",
    "```rust\n",
    "```\n",
    "~~~\n",
    "\n",
    "\n\n",
    "\n\n\n",
    " ",
    "  ",
    "\t",
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;",
    "\"",
    "'",
    "\\",
    "|",
    "||",
    "[",
    "]",
    "(",
    ")",
    "[link](https://x.y/?a=1&b=2)",
    "[bad](javascript:x)",
    "<https://auto.example>",
    "![img](https://i.example/p.png)",
    "- ",
    "* ",
    "1. ",
    "  - ",
    "> ",
    ">> ",
    "# ",
    "### ",
    "---\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "<b>",
    "</i>",
    "<div>\n",
    "<!--",
    "word",
    "another",
    "end.",
    "Why?",
    "😀",
    "👩‍💻",
    "日本語のテキスト",
    "Ünïcödé",
    "[button:Go]",
    "<file:/tmp/x y.txt>",
    "supercalifragilisticexpialidociousandthensomemorelettersthatneverend",
    "    indented code\n",
    "&#128512;",
    "#",
];

fn random_markdown(rng: &mut Rng) -> String {
    let len = 1 + rng.below(60);
    (0..len).map(|_| *rng.pick(PIECES)).collect()
}

/// Whether the chunks' visible texts, in order, make up `full` except for whitespace between them.
fn preserves_text(full: &str, chunks: &[String]) -> Result<(), String> {
    let mut rest = full;
    for chunk in chunks {
        let text = visible(chunk);
        rest = rest.trim_start();
        let text = text.trim_start();
        rest = rest.strip_prefix(text).ok_or_else(|| {
            format!(
                "chunk {text:?} does not continue at {:?}",
                &rest[..rest.len().min(80)]
            )
        })?;
    }
    if rest.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("lost tail {rest:?}"))
    }
}

fn check_split(html: &str, limit: usize) {
    let full = visible(html);
    let chunks = split_html(html, limit);
    for chunk in &chunks {
        check(chunk).unwrap_or_else(|e| panic!("limit {limit}: {e}\nfrom {html:?}"));
        assert!(
            visible_len(chunk) <= limit,
            "limit {limit}: {chunk:?} too long"
        );
        assert!(
            !html_to_plain(chunk).trim().is_empty(),
            "whitespace-only chunk {chunk:?}"
        );
    }
    if let Err(e) = preserves_text(&full, &chunks) {
        panic!("limit {limit}: {e}\nhtml {html:?}\nchunks {chunks:?}");
    }
    if full.trim().is_empty() {
        assert!(chunks.is_empty());
    } else if visible_len(html) <= limit {
        assert_eq!(chunks, [html]);
    }
}

#[test]
fn generated_markdown_renders_and_splits_well() {
    let mut rng = Rng::new(0x00d0_c70f);
    for _ in 0..3000 {
        let md = random_markdown(&mut rng);
        let html = markdown_to_html(&md);
        let shown = check(&html).unwrap_or_else(|e| panic!("{e}\nfrom markdown {md:?}"));
        assert_eq!(html_to_plain(&html), shown);
        assert_eq!(visible_len(&html), shown.encode_utf16().count());
        assert_eq!(html.trim(), html, "leading/trailing whitespace from {md:?}");
        for limit in [4096, 100, 20, 7] {
            check_split(&html, limit);
        }
    }
}

#[test]
fn long_generated_documents_split_at_the_telegram_limit() {
    let mut rng = Rng::new(42);
    for _ in 0..30 {
        let md: String = (0..40)
            .map(|_| random_markdown(&mut rng))
            .collect::<Vec<_>>()
            .join("\n\n");
        let md = md.repeat(3);
        let html = markdown_to_html(&md);
        check(&html).unwrap();
        check_split(&html, 4096);
        check_split(&html, 500);
    }
}

#[test]
fn markers_and_streaming_never_panic_and_stay_well_formed() {
    let mut rng = Rng::new(7);
    for _ in 0..1500 {
        let md = random_markdown(&mut rng);
        let (text, _) = extract_file_tags(&md);
        let (text, _) = extract_buttons(&text);
        check(&markdown_to_html(&text)).unwrap();
        let mut cut = 0;
        while cut <= md.len() {
            if md.is_char_boundary(cut) {
                check(&markdown_to_html(&stream_safe_prefix(&md[..cut]))).unwrap();
            }
            cut += 1 + rng.below(7);
        }
    }
}

#[test]
fn arbitrary_html_never_panics_the_splitter() {
    let pieces = [
        "<b>",
        "</b>",
        "<a href=\"x\">",
        "</a>",
        "<",
        ">",
        "&",
        "&lt;",
        "&#1;",
        "\"",
        "x",
        " ",
        "\n\n",
        "😀",
        "</",
    ];
    let mut rng = Rng::new(99);
    for _ in 0..2000 {
        let html: String = (0..rng.below(40)).map(|_| *rng.pick(&pieces)).collect();
        for limit in [0, 1, 3, 10] {
            for chunk in split_html(&html, limit) {
                assert!(visible_len(&chunk) <= limit.max(2));
            }
        }
        let _ = html_to_plain(&html);
    }
}

#[test]
fn pathological_inputs_stay_linear_and_bounded() {
    let deep_list = format!("{}x\n{}", "- ".repeat(3000), "y\n".repeat(2000));
    let inputs = [
        "[button:".repeat(20_000),
        "<file:".repeat(20_000),
        "[button:a]".repeat(5_000),
        deep_list,
        ">".repeat(5_000),
        "*".repeat(20_000),
        "`".repeat(20_000),
        "[".repeat(20_000),
        "<a ".repeat(20_000),
        "\"<b \"".repeat(10_000),
        " \n".repeat(20_000),
    ];
    for md in &inputs {
        let (text, _) = extract_file_tags(md);
        let (text, _) = extract_buttons(&text);
        let html = markdown_to_html(&text);
        check(&html).unwrap();
        assert!(
            html.len() <= 20 * md.len() + 100,
            "output blew up: {} from {}",
            html.len(),
            md.len()
        );
        let _ = stream_safe_prefix(md);
        for chunk in split_html(&html, 4096) {
            check(&chunk).unwrap();
        }
        let _ = split_html(md, 100);
    }
}
