//! Inline-keyboard buttons the agent asks for with `[button:Label]` markers.

use super::scan::{find_markers, remove};

/// Rows of button labels, top to bottom, each row left to right.
pub type ButtonRows = Vec<Vec<String>>;

/// Takes the `[button:Label]` markers out of an agent's answer and returns the remaining text
/// plus the keyboard they describe.
///
/// Why: agents offer quick replies this way; transports show them as buttons under the message,
/// and the markers themselves must not be displayed.
///
/// All markers on one line form one row and each line with markers starts a new row. Markers in
/// inline code or code blocks are examples, not buttons, and stay in the text. A marker needs a
/// non-blank label (trimmed) and must close on its line. Lines left blank by the removal are
/// dropped, blank-line runs shrink to one, and text without markers is returned unchanged.
pub fn extract_buttons(text: &str) -> (String, ButtonRows) {
    let markers = find_markers(text, "[button:", ']');
    let mut rows: ButtonRows = Vec::new();
    let mut last_line = None;
    let mut line = 0;
    let mut counted_to = 0;
    for (range, label) in &markers {
        line += text[counted_to..range.start].matches('\n').count();
        counted_to = range.start;
        if last_line == Some(line) {
            if let Some(row) = rows.last_mut() {
                row.push((*label).to_owned());
            }
        } else {
            rows.push(vec![(*label).to_owned()]);
            last_line = Some(line);
        }
    }
    let ranges: Vec<_> = markers.into_iter().map(|(range, _)| range).collect();
    (remove(text, &ranges), rows)
}
