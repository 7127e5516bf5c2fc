//! The explicit environment of every CLI child: ductor's own environment minus
//! nested-session markers, plus the `DUCTOR_*` identity of the turn (§3.6), plus
//! `.env` values that are not already set, plus provider-specific variables.
//! `PATH` starts with the directory of ductor's executables so the agent's CLI can
//! call `ductor ask`, `ductor task …`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Variables that make a CLI believe it runs inside another agent session.
pub const NESTED_SESSION_MARKERS: &[&str] = &[
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SSE_PORT",
    "CLAUDE_AGENT_SDK_VERSION",
    "CODEX_SANDBOX",
    "CODEX_SANDBOX_NETWORK_DISABLED",
    "CODEX_THREAD_ID",
    "GEMINI_CLI",
    "GEMINI_CLI_IDE_SERVER_PORT",
    "GEMINI_CLI_IDE_WORKSPACE_PATH",
];

/// Who a turn runs for; becomes the `DUCTOR_*` variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnIdentity {
    /// Agent name.
    pub agent: String,
    /// Whether this is the main agent.
    pub is_main: bool,
    /// The agent's home (`DUCTOR_HOME`).
    pub agent_home: PathBuf,
    /// The ductor home holding the bus and `SHAREDMEMORY.md`.
    pub main_home: PathBuf,
    /// Transport tag (`tg`, `api`).
    pub transport: String,
    /// Chat of the turn (0 = none).
    pub chat_id: i64,
    /// Forum topic of the turn.
    pub topic_id: Option<i64>,
    /// Background task this turn belongs to.
    pub task_id: Option<String>,
    /// `transcription.audio_command`.
    pub transcribe_command: String,
    /// `transcription.video_command`.
    pub video_transcribe_command: String,
}

impl TurnIdentity {
    /// The `DUCTOR_*` variables of this turn.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("DUCTOR_AGENT_NAME".to_owned(), self.agent.clone()),
            (
                "DUCTOR_AGENT_ROLE".to_owned(),
                if self.is_main { "main" } else { "sub" }.to_owned(),
            ),
            (
                "DUCTOR_HOME".to_owned(),
                self.agent_home.display().to_string(),
            ),
            (
                "DUCTOR_ROOT".to_owned(),
                self.main_home.display().to_string(),
            ),
            (
                "DUCTOR_SHARED_MEMORY_PATH".to_owned(),
                self.main_home.join("SHAREDMEMORY.md").display().to_string(),
            ),
            ("DUCTOR_TRANSPORT".to_owned(), self.transport.clone()),
        ];
        if self.chat_id != 0 {
            v.push((
                "DUCTOR_CHAT_ID".into(),
                crate::address::chat_id_text(&self.transport, self.chat_id),
            ));
        }
        if let Some(t) = self.topic_id {
            v.push(("DUCTOR_TOPIC_ID".into(), t.to_string()));
        }
        if let Some(id) = &self.task_id {
            v.push(("DUCTOR_TASK_ID".into(), id.clone()));
        }
        if !self.transcribe_command.is_empty() {
            v.push((
                "DUCTOR_TRANSCRIBE_COMMAND".into(),
                self.transcribe_command.clone(),
            ));
        }
        if !self.video_transcribe_command.is_empty() {
            v.push((
                "DUCTOR_VIDEO_TRANSCRIBE_COMMAND".into(),
                self.video_transcribe_command.clone(),
            ));
        }
        v
    }
}

/// `.env` keys ductor keeps to itself (the Matrix store passphrase): never given to a CLI.
pub fn ductor_only(key: &str) -> bool {
    key.starts_with("DUCTOR_MATRIX_")
}

/// Assembles the child environment.
///
/// `base` is ductor's own environment; `dotenv` values only fill gaps; `identity`
/// and `provider` variables always win; `bin_dir` is prepended to `PATH`.
pub fn child_env(
    base: impl IntoIterator<Item = (OsString, OsString)>,
    identity: &[(String, String)],
    dotenv: &BTreeMap<String, String>,
    provider: &[(String, String)],
    bin_dir: Option<&Path>,
) -> Vec<(OsString, OsString)> {
    let mut env: BTreeMap<OsString, OsString> = base
        .into_iter()
        .filter(|(k, _)| {
            !NESTED_SESSION_MARKERS.iter().any(|m| k == *m)
                && k != crate::ipc::AGENT_TOKEN_VAR
                && !ductor_only(&k.to_string_lossy())
        })
        .collect();
    for (k, v) in dotenv.iter().filter(|(k, _)| !ductor_only(k)) {
        env.entry(k.into()).or_insert_with(|| v.into());
    }
    for (k, v) in identity.iter().chain(provider) {
        env.insert(k.into(), v.into());
    }
    if let Some(dir) = bin_dir {
        let mut path = OsString::from(dir.as_os_str());
        if let Some(old) = env.get(&OsString::from("PATH")).filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(old);
        }
        env.insert("PATH".into(), path);
    }
    env.into_iter().collect()
}

/// The value of `key` in an assembled environment.
pub fn get<'a>(env: &'a [(OsString, OsString)], key: &str) -> Option<&'a OsString> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_removed_dotenv_fills_gaps_identity_wins() {
        let base = vec![
            ("CLAUDECODE".into(), "1".into()),
            ("PATH".into(), "/usr/bin".into()),
            ("API_KEY".into(), "real".into()),
            ("DUCTOR_CHAT_ID".into(), "999".into()),
            ("DUCTOR_MATRIX_STORE_PASSPHRASE".into(), "secret".into()),
        ];
        let dotenv: BTreeMap<String, String> = [
            ("API_KEY".to_owned(), "from-dotenv".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
            ("DUCTOR_MATRIX_X".to_owned(), "kept".to_owned()),
        ]
        .into();
        let ident = TurnIdentity {
            agent: "sub1".into(),
            agent_home: "/h/agents/sub1".into(),
            main_home: "/h".into(),
            transport: "tg".into(),
            chat_id: 42,
            topic_id: Some(7),
            ..TurnIdentity::default()
        };
        let env = child_env(
            base,
            &ident.vars(),
            &dotenv,
            &[],
            Some(Path::new("/opt/ductor/bin")),
        );
        assert!(get(&env, "CLAUDECODE").is_none());
        assert!(get(&env, "DUCTOR_MATRIX_STORE_PASSPHRASE").is_none());
        assert!(get(&env, "DUCTOR_MATRIX_X").is_none());
        assert_eq!(get(&env, "API_KEY").unwrap(), "real");
        assert_eq!(get(&env, "OTHER").unwrap(), "x");
        assert_eq!(get(&env, "DUCTOR_CHAT_ID").unwrap(), "42");
        assert_eq!(get(&env, "DUCTOR_TOPIC_ID").unwrap(), "7");
        assert_eq!(get(&env, "DUCTOR_AGENT_ROLE").unwrap(), "sub");
        assert_eq!(
            get(&env, "DUCTOR_SHARED_MEMORY_PATH").unwrap(),
            "/h/SHAREDMEMORY.md"
        );
        assert_eq!(get(&env, "PATH").unwrap(), "/opt/ductor/bin:/usr/bin");
        assert!(get(&env, "DUCTOR_TASK_ID").is_none());
    }
}
