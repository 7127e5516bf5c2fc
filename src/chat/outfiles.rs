//! Files the agent asks to send with `<file:/path>` (§6.6): checked and opened by the
//! agent's [`FileAccess`] (roots, the deny-list of secrets, no symlink as the last
//! component; relative paths against the turn's working directory) and uploaded
//! from that open handle; a refused or missing path becomes a one-line notice.

use super::api::{ChatApi, OutMessage};
use crate::access::{FileAccess, Refusal};
use crate::address::{Address, MessageRef};
use crate::config::AgentConfig;
use crate::i18n::Catalog;
use std::path::Path;

/// Sends each file (or a notice) to `to`; relative paths resolve against `cwd`.
#[allow(clippy::too_many_arguments)]
pub async fn send_all(
    api: &dyn ChatApi,
    text: &Catalog,
    config: &AgentConfig,
    access: &FileAccess,
    cwd: &Path,
    to: &Address,
    files: &[String],
    reply_to: Option<MessageRef>,
) {
    for raw in files {
        let name = Path::new(raw)
            .file_name()
            .map_or_else(|| raw.clone(), |n| n.to_string_lossy().into_owned());
        let notice = match access.open(raw, cwd) {
            Ok(opened) => {
                let shown = opened.path.display().to_string();
                match api.send_file(to, opened, reply_to.clone()).await {
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(file = %shown, error = %e, "sending a file failed");
                        Some(text.f("files.failed", &[("name", &name)]))
                    }
                }
            }
            Err(Refusal::Missing) => Some(text.f("files.missing", &[("name", &name)])),
            Err(Refusal::Secret) => {
                tracing::warn!(file = %raw, "refused to send a file that holds secrets");
                Some(text.f("files.secret", &[("name", &name)]))
            }
            Err(Refusal::Outside) => Some(text.f(
                "files.outside",
                &[("name", &name), ("mode", &config.file_access)],
            )),
        };
        if let Some(n) = notice {
            let _ = api.send(to, OutMessage::plain(n)).await;
        }
    }
}
