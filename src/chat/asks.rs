//! The chat messages of live CLI requests still waiting for an answer, kept in
//! `live_requests.json` so that a restart (or a crash) never leaves buttons that do
//! nothing: the next start of the transport marks each of them as expired.

use crate::address::{Address, MessageRef};
use crate::paths::AgentPaths;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// One waiting request's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// The request's key.
    pub key: String,
    /// Where its message is.
    pub address: Address,
    /// The message.
    pub message: MessageRef,
    /// Its text (Markdown), kept when it is marked.
    pub markdown: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    requests: Vec<Waiting>,
}

/// One read-modify-write of the file at a time in this process.
static LOCK: Mutex<()> = Mutex::new(());

fn update<T>(paths: &AgentPaths, f: impl FnOnce(&mut Vec<Waiting>) -> T) -> T {
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = paths.live_requests_file();
    let (mut file, _) = crate::store::load_state::<File>(&path);
    let out = f(&mut file.requests);
    if let Err(e) = crate::store::write_json(&path, &file) {
        tracing::warn!(error = %e, "cannot record the live requests' messages");
    }
    out
}

/// Records a request's message.
pub fn remember(paths: &AgentPaths, waiting: Waiting) {
    update(paths, |all| {
        all.retain(|w| w.key != waiting.key);
        all.push(waiting);
    });
}

/// Forgets the message of request `key` (it is over).
pub fn forget(paths: &AgentPaths, key: &str) {
    update(paths, |all| all.retain(|w| w.key != key));
}

/// Takes the messages of `transport` an earlier run left waiting.
pub fn take_left(paths: &AgentPaths, transport: &str) -> Vec<Waiting> {
    if !paths.live_requests_file().exists() {
        return Vec::new();
    }
    update(paths, |all| {
        let (mine, others): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(all)
            .into_iter()
            .partition(|w| w.address.transport == transport);
        *all = others;
        mine
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_until_over_and_taken_per_transport_once() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Home::new(dir.path()).main();
        std::fs::create_dir_all(paths.root()).unwrap();
        let at = |t: &str, key: &str| Waiting {
            key: key.into(),
            address: Address::new(t, 1, None),
            message: MessageRef::from(7),
            markdown: "may I?".into(),
        };
        remember(&paths, at("tg", "a1"));
        remember(&paths, at("tg", "a2"));
        remember(&paths, at("mx", "a3"));
        forget(&paths, "a1");
        let left = take_left(&paths, "tg");
        assert_eq!(left, vec![at("tg", "a2")]);
        assert!(take_left(&paths, "tg").is_empty(), "taken once");
        assert_eq!(take_left(&paths, "mx").len(), 1);
        // A corrupt file is moved aside, not fatal.
        std::fs::write(paths.live_requests_file(), "{nope").unwrap();
        remember(&paths, at("tg", "a4"));
        assert_eq!(take_left(&paths, "tg").len(), 1);
    }
}
