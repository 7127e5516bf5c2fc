//! `[button:…]` and `<file:…>` markers (reference §6.6, §6.7, §14.2 item 22) and the streaming view.

use super::super::{markdown_to_html, prepare_reply};
use crate::chat::markers::{extract_buttons, extract_file_tags, stream_safe_prefix};
use crate::ops::Action;

/// The callback data of an agent's button labelled `label`.
fn callback_data_for(label: &str) -> String {
    Action::Answer(label.to_owned()).encode()
}

const CALLBACK_DATA_LIMIT: usize = crate::ops::action::MAX_ENCODED;

fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

#[test]
fn buttons_on_one_line_form_one_row() {
    let (text, buttons) = extract_buttons("Continue?\n[button:Yes] [button:No]");
    assert_eq!(text, "Continue?");
    assert_eq!(buttons, rows(&[&["Yes", "No"]]));
}

#[test]
fn each_line_with_buttons_is_a_new_row() {
    let (text, buttons) = extract_buttons("Pick one:\n[button:A]\n[button:B] [button:C]\n\nThanks");
    assert_eq!(text, "Pick one:\n\nThanks");
    assert_eq!(buttons, rows(&[&["A"], &["B", "C"]]));
}

#[test]
fn markers_inside_code_are_not_buttons() {
    let md = "Use `[button:Label]` to add one.\n\n```\n[button:InFence]\n```\n[button:Real]";
    let (text, buttons) = extract_buttons(md);
    assert_eq!(buttons, rows(&[&["Real"]]));
    assert_eq!(
        text,
        "Use `[button:Label]` to add one.\n\n```\n[button:InFence]\n```"
    );
}

#[test]
fn markers_mid_line_leave_tidy_text() {
    let (text, buttons) = extract_buttons("Choose [button:Red] or [button:Blue] now");
    assert_eq!(text, "Choose or now");
    assert_eq!(buttons, rows(&[&["Red", "Blue"]]));
    let (text, _) = extract_buttons("  - item [button:X]");
    assert_eq!(text, "  - item");
}

#[test]
fn bullets_and_quotes_holding_only_buttons_disappear() {
    let (text, buttons) = extract_buttons(
        "Options:\n- [button:One]\n- [button:Two]\n> [button:Three]\n1. [button:Four]",
    );
    assert_eq!(text, "Options:");
    assert_eq!(buttons, rows(&[&["One"], &["Two"], &["Three"], &["Four"]]));
    let (text, _) = extract_buttons("- keep me [button:X]\n- 2 [button:Y]");
    assert_eq!(text, "- keep me\n- 2");
}

#[test]
fn windows_line_endings() {
    let (text, buttons) = extract_buttons("Go?\r\n[button:Yes]\r\nBye\r\n");
    assert_eq!(buttons, rows(&[&["Yes"]]));
    assert_eq!(text, "Go?\r\nBye");
    let (_, files) = extract_file_tags("<file:/tmp/a.txt>\r\n");
    assert_eq!(files, ["/tmp/a.txt"]);
}

#[test]
fn blank_line_runs_left_by_markers_collapse_to_one() {
    let (text, buttons) = extract_buttons("Top\n\n\n[button:X]\n\n\n\nBottom\n\n[button:Y]\n");
    assert_eq!(text, "Top\n\nBottom");
    assert_eq!(buttons, rows(&[&["X"], &["Y"]]));
}

#[test]
fn blank_lines_inside_code_blocks_survive_marker_removal() {
    let md = "```\na\n\n\n\nb\n```\n[button:Ok]";
    let (text, _) = extract_buttons(md);
    assert_eq!(text, "```\na\n\n\n\nb\n```");
}

#[test]
fn text_without_markers_is_unchanged() {
    for md in [
        "plain\n\n\n\ntext\n",
        "[button:]",
        "[button: ]",
        "[button:no close\n]",
        "[not a button]",
    ] {
        let (text, buttons) = extract_buttons(md);
        assert_eq!(text, md);
        assert!(buttons.is_empty());
    }
}

#[test]
fn button_labels_are_trimmed_and_may_hold_unicode() {
    let (_, buttons) = extract_buttons("[button: Ja, bitte 👍 ]");
    assert_eq!(buttons, rows(&[&["Ja, bitte 👍"]]));
}

#[test]
fn callback_data_is_cut_to_64_bytes_on_a_char_boundary() {
    assert_eq!(callback_data_for("Yes"), "a:Yes");
    let exact = "a".repeat(62);
    assert_eq!(callback_data_for(&exact), format!("a:{exact}"));
    assert_eq!(
        callback_data_for(&"b".repeat(100)),
        format!("a:{}", "b".repeat(62))
    );
    // 20 three-byte characters and the prefix are 62 bytes; the 21st would cross the limit.
    let cjk = "語".repeat(30);
    let data = callback_data_for(&cjk);
    assert_eq!(data, format!("a:{}", "語".repeat(20)));
    assert!(data.len() <= CALLBACK_DATA_LIMIT);
    let emoji = format!("{}😀", "x".repeat(60));
    assert_eq!(callback_data_for(&emoji), format!("a:{}", "x".repeat(60)));
}

#[test]
fn file_tags_are_extracted_in_order_and_removed() {
    let md = "Here is the report:\n<file:/home/u/out/report.pdf>\nand a chart <file:/tmp/chart.png> inline.";
    let (text, files) = extract_file_tags(md);
    assert_eq!(files, ["/home/u/out/report.pdf", "/tmp/chart.png"]);
    assert_eq!(text, "Here is the report:\nand a chart inline.");
}

#[test]
fn file_tag_payloads_plain_or_uri() {
    let md = "<file:/tmp/a b.txt>\n<file:file:///tmp/a%20b.txt>\n<file:///tmp/c%C3%A9.txt>\n\
              <file:file://localhost/tmp/d.txt>\n<file:/tmp/100%real.txt>\n<file:file:///tmp/bad%FF.txt>";
    let (text, files) = extract_file_tags(md);
    assert_eq!(
        files,
        [
            "/tmp/a b.txt",
            "/tmp/a b.txt",
            "/tmp/cé.txt",
            "/tmp/d.txt",
            "/tmp/100%real.txt",
            "/tmp/bad%FF.txt"
        ]
    );
    assert_eq!(text, "");
}

#[test]
fn file_tags_in_code_are_left_alone() {
    let md = "Write `<file:/abs/path>` to send.\n```\n<file:/etc/passwd>\n```";
    let (text, files) = extract_file_tags(md);
    assert!(files.is_empty());
    assert_eq!(text, md);
}

#[test]
fn prepare_reply_runs_the_whole_pipeline() {
    let reply = prepare_reply("**Done.** See <file:/tmp/x.png>\n\n[button:Again] [button:Stop]");
    assert_eq!(reply.chunks, ["<b>Done.</b> See"]);
    assert_eq!(reply.files, ["/tmp/x.png"]);
    assert_eq!(reply.buttons, rows(&[&["Again", "Stop"]]));

    let only_file = prepare_reply("<file:/tmp/x.png>");
    assert!(only_file.chunks.is_empty());
    assert_eq!(only_file.files, ["/tmp/x.png"]);
}

#[test]
fn streaming_hides_complete_markers_and_holds_back_partial_ones() {
    assert_eq!(
        stream_safe_prefix("Sending <file:/tmp/a.png> now"),
        "Sending now"
    );
    assert_eq!(stream_safe_prefix("Sending <fi"), "Sending ");
    assert_eq!(stream_safe_prefix("Sending <"), "Sending ");
    assert_eq!(stream_safe_prefix("Sending <file:/tmp/a.p"), "Sending ");
    assert_eq!(stream_safe_prefix("Pick [button:Y"), "Pick ");
    assert_eq!(stream_safe_prefix("Pick [b"), "Pick ");
    assert_eq!(stream_safe_prefix("Pick [button:Yes] [button:No]"), "Pick");
    // Things that merely look similar are not held back.
    assert_eq!(stream_safe_prefix("a < b"), "a < b");
    assert_eq!(stream_safe_prefix("see [docs](http"), "see [docs](http");
    assert_eq!(stream_safe_prefix("line <fi\nnext"), "line <fi\nnext");
    // Markers shown as code stay visible.
    assert_eq!(
        stream_safe_prefix("`<file:/x>` and `[button:A]`"),
        "`<file:/x>` and `[button:A]`"
    );
}

#[test]
fn streaming_view_of_every_prefix_renders_well_formed_html_without_markers() {
    let answer = "# Report\n\nAll **done** with `code <file:/not/a/tag>`.\n\n```rust\nlet x = a < b;\n```\n\
                  Files: <file:/tmp/out.csv>\n\n> quoted *text*\n\n[button:Ship it] [button:Wait]\n";
    let mut cut = 0;
    while cut <= answer.len() {
        if answer.is_char_boundary(cut) {
            let shown = stream_safe_prefix(&answer[..cut]);
            let html = markdown_to_html(&shown);
            super::checker::check(&html).unwrap();
            assert!(
                !html.contains("file:/tmp") && !html.contains("[button:"),
                "{cut}: {html}"
            );
            assert!(
                !html.contains("&lt;fi") || html.contains("/not/a/tag"),
                "{cut}: {html}"
            );
        }
        cut += 1;
    }
}
