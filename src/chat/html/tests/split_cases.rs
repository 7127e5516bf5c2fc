//! The splitter, measuring and plain-text fallback (reference §6.4 splitting, §14.2 item 26).

use super::super::{html_to_plain, split_html, visible_len};
use super::checker::visible;

#[test]
fn visible_len_counts_utf16_after_entity_parsing() {
    assert_eq!(visible_len(""), 0);
    assert_eq!(visible_len("<b>bold</b>"), 4);
    assert_eq!(visible_len("&lt;&gt;&amp;&quot;"), 4);
    assert_eq!(
        visible_len("<a href=\"https://x.y/very/long/url\">x</a>"),
        1
    );
    assert_eq!(visible_len("😀"), 2);
    assert_eq!(visible_len("&#128512;&#x1F600;"), 4);
    assert_eq!(visible_len("日本"), 2);
    assert_eq!(visible_len("a < b & c"), 9);
    assert_eq!(visible_len("&unknown; &lt"), 13);
}

#[test]
fn html_to_plain_strips_tags_and_decodes_entities() {
    assert_eq!(
        html_to_plain("<b>x</b> &lt;y&gt; &amp;amp; &quot;q&quot;"),
        "x <y> &amp; \"q\""
    );
    assert_eq!(
        html_to_plain("<pre><code class=\"language-rust\">a &lt; b</code></pre>"),
        "a < b"
    );
    assert_eq!(html_to_plain("<a href=\"u?a=1&amp;b=2\">link</a>"), "link");
    assert_eq!(html_to_plain("1 < 2 and 3>2"), "1 < 2 and 3>2");
}

#[test]
fn short_input_is_one_unchanged_chunk() {
    let html = "<b>hello</b> world";
    assert_eq!(split_html(html, 4096), vec![html.to_owned()]);
    let exact = "x".repeat(4096);
    assert_eq!(split_html(&exact, 4096), vec![exact.clone()]);
}

#[test]
fn nothing_visible_gives_no_chunks() {
    assert!(split_html("", 4096).is_empty());
    assert!(split_html(" \n\n ", 4096).is_empty());
    assert!(split_html("<b></b>", 4096).is_empty());
}

#[test]
fn prefers_paragraph_then_line_then_sentence_then_space() {
    let para = format!(
        "{}\n\n{}",
        "a ".repeat(30).trim_end(),
        "b ".repeat(30).trim_end()
    );
    assert_eq!(
        split_html(&para, 100),
        vec!["a ".repeat(30).trim_end(), "b ".repeat(30).trim_end()]
    );

    let line = format!("{}\n{}. {}", "a".repeat(40), "b".repeat(30), "c".repeat(40));
    assert_eq!(
        split_html(&line, 100),
        vec![
            "a".repeat(40),
            format!("{}. {}", "b".repeat(30), "c".repeat(40))
        ]
    );

    let sentence = "One two three. Four five six seven eight nine";
    assert_eq!(
        split_html(sentence, 30),
        vec!["One two three.", "Four five six seven eight nine"]
    );

    let words = "alpha beta gamma delta epsilon";
    assert_eq!(
        split_html(words, 12),
        vec!["alpha beta", "gamma delta", "epsilon"]
    );
}

#[test]
fn early_boundaries_are_skipped_for_a_fuller_chunk() {
    // A blank line after 5 of 40 characters would waste the chunk: cut at the last space instead.
    let html = format!("intro\n\n{}", "word ".repeat(20));
    let chunks = split_html(&html, 40);
    assert!(chunks[0].starts_with("intro\n\nword"), "{chunks:?}");
    assert!(chunks.iter().all(|c| visible_len(c) <= 40));
}

#[test]
fn long_words_are_hard_split_at_the_limit() {
    let chunks = split_html(&"x".repeat(250), 100);
    assert_eq!(
        chunks,
        vec!["x".repeat(100), "x".repeat(100), "x".repeat(50)]
    );
}

#[test]
fn never_splits_surrogate_pairs_or_entities() {
    let emoji = "😀".repeat(5);
    let chunks = split_html(&emoji, 3);
    assert_eq!(chunks, vec!["😀"; 5]);

    let entities = "&lt;".repeat(10);
    let chunks = split_html(&entities, 4);
    assert_eq!(
        chunks,
        vec!["&lt;&lt;&lt;&lt;", "&lt;&lt;&lt;&lt;", "&lt;&lt;"]
    );

    // A limit below one character's width still makes progress, one character per chunk.
    assert_eq!(split_html("😀😀", 1), vec!["😀", "😀"]);
}

#[test]
fn open_tags_are_closed_and_reopened_with_attributes() {
    let html = "<b>bold text <a href=\"https://x.y/?a=1&amp;b=2\">link words here</a> tail</b>";
    let chunks = split_html(html, 12);
    assert_eq!(
        chunks,
        vec![
            "<b>bold text</b>",
            "<b><a href=\"https://x.y/?a=1&amp;b=2\">link words</a></b>",
            "<b><a href=\"https://x.y/?a=1&amp;b=2\">here</a> tail</b>",
        ]
    );
}

#[test]
fn code_blocks_keep_language_and_indentation_across_chunks() {
    let code = (0..6)
        .map(|i| format!("    line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let html = format!("<pre><code class=\"language-py\">{code}</code></pre>");
    let chunks = split_html(&html, 40);
    for chunk in &chunks {
        assert!(
            chunk.starts_with("<pre><code class=\"language-py\">    line"),
            "{chunk}"
        );
        assert!(chunk.ends_with("</code></pre>"), "{chunk}");
        visible(chunk);
    }
    assert_eq!(chunks.len(), 2);
}

#[test]
fn no_empty_elements_at_cut_points() {
    let html = "first paragraph here\n\n<b>second paragraph here</b>";
    assert_eq!(
        split_html(html, 25),
        vec!["first paragraph here", "<b>second paragraph here</b>"]
    );
    let html = "<i>first paragraph here</i>\n\nsecond paragraph here";
    assert_eq!(
        split_html(html, 25),
        vec!["<i>first paragraph here</i>", "second paragraph here"]
    );
}

#[test]
fn blockquote_split_inside() {
    let html = "<blockquote>one two three\n\nfour five six</blockquote>";
    assert_eq!(
        split_html(html, 20),
        vec![
            "<blockquote>one two three</blockquote>",
            "<blockquote>four five six</blockquote>"
        ]
    );
}

#[test]
fn chunks_respect_telegram_limit_on_large_messages() {
    let para = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(30);
    let para = para.trim_end();
    let html = [para; 8].join("\n\n");
    let chunks = split_html(&html, 4096);
    assert!(chunks.len() >= 4);
    for chunk in &chunks {
        assert!(visible_len(chunk) <= 4096);
        assert!(!chunk.starts_with(char::is_whitespace) && !chunk.ends_with(char::is_whitespace));
    }
}

#[test]
fn malformed_input_does_not_panic() {
    for html in [
        "<b>unclosed",
        "</i>stray",
        "<a href=\"x>y",
        "&#xD800; &#99999999;",
        "<",
        "&",
        "<b",
    ] {
        for limit in [0, 1, 2, 5] {
            let chunks = split_html(&html.repeat(7), limit);
            assert!(!chunks.is_empty());
        }
    }
}

#[test]
fn first_chunk_is_stable_once_the_text_exceeds_the_limit() {
    // The streaming editor can seal chunk 1 as soon as the text outgrows a message: appending
    // more HTML never changes it.
    let base = "<b>Intro</b> words and more words.\n\nSecond paragraph goes on and on";
    let first = split_html(base, 40)[0].clone();
    for tail in [" and on", "\n\n<i>more</i>", " x".repeat(50).as_str(), "😀"] {
        assert_eq!(split_html(&format!("{base}{tail}"), 40)[0], first);
    }
}

#[test]
fn escape_html_escapes_only_what_telegram_needs() {
    use super::super::escape_html;
    assert_eq!(
        escape_html("[TOOL: a<b> & \"c\"]"),
        "[TOOL: a&lt;b&gt; &amp; \"c\"]"
    );
    assert_eq!(visible(&escape_html("<i>x</i> &amp;")), "<i>x</i> &amp;");
}
