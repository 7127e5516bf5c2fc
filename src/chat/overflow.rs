//! Answers longer than a chat should take (`max_reply_messages`): the first messages
//! are sent, the last one says the answer goes on in a file, and the whole answer
//! follows as a Markdown document from `workspace/output_to_user/`.

use super::Frontend;
use super::api::Dialect;
use crate::address::{Address, MessageRef};

/// `chunks` cut to at most `max` messages: the first `max - 1` and `notice` (markup)
/// as the last. `None` when they fit.
pub fn cap(chunks: &[String], max: usize, notice: &str) -> Option<Vec<String>> {
    let max = max.max(1);
    if chunks.len() <= max {
        return None;
    }
    let mut kept = chunks[..max - 1].to_vec();
    kept.push(notice.to_owned());
    Some(kept)
}

/// The notice in `markup`: the answer continues in the attached file.
pub fn notice(markup: &dyn Dialect, text: &crate::i18n::Catalog, max: usize) -> String {
    let sentence = text.f("reply.continues_in_file", &[("max", &max.to_string())]);
    markup.italic(&markup.escape(&sentence))
}

impl Frontend {
    /// Writes the whole `markdown` answer to a file of the agent's output folder and
    /// sends it to `to`. Failures are logged (the messages already sent stay).
    pub async fn send_whole_answer(
        &self,
        to: &Address,
        markdown: &str,
        reply_to: Option<MessageRef>,
    ) {
        let dir = self.core().paths.output_to_user_dir();
        let name = format!(
            "answer-{}-{}.md",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            crate::util::random_hex(2)
        );
        let path = dir.join(name);
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, markdown))
            .and_then(|()| std::fs::File::open(&path));
        let file = match written {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "cannot save the long answer");
                return;
            }
        };
        let opened = crate::access::Opened {
            size: markdown.len() as u64,
            file,
            path,
        };
        if let Err(e) = self.api.send_file(to, opened, reply_to).await {
            tracing::warn!(error = %e, "cannot send the long answer as a file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_over_the_limit_end_with_the_notice() {
        let chunks: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
        assert_eq!(cap(&chunks, 5, "N"), None);
        assert_eq!(cap(&chunks, 3, "N").unwrap(), ["c0", "c1", "N"]);
        assert_eq!(cap(&chunks, 0, "N").unwrap(), ["N"]);
    }
}
