//! The typed view of `config/config.json` (reference §3.2), with the original's
//! defaults. Unknown keys are ignored here; the raw document keeps them (see
//! [`super::load`]).

use crate::secret::Secret;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Default Bot API base URL (a self-hosted Bot API server lifts the 20/50 MB file limits).
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// Every setting of one agent. Field names are the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentConfig {
    /// Log level (`DEBUG`, `INFO`, `WARNING`, `ERROR`); `-v`/`RUST_LOG` override it.
    pub log_level: String,
    /// Default provider (`claude`, `codex`, `gemini`); kept consistent with `model` by `/model`.
    pub provider: String,
    /// Default model of the default provider.
    pub model: String,
    /// Home of this agent; informational (the real home comes from `--home`/`DUCTOR_HOME`).
    pub ductor_home: String,
    /// Minutes without a message after which the next message starts a fresh session; 0 disables.
    pub idle_timeout_minutes: u64,
    /// After this many hours a session gets an age hint every 10th message.
    pub session_age_warning_hours: u64,
    /// Hour (in `user_timezone`) of the optional daily session reset.
    pub daily_reset_hour: u32,
    /// Whether sessions are reset daily at `daily_reset_hour`.
    pub daily_reset_enabled: bool,
    /// Claude `--max-budget-usd` per turn.
    pub max_budget_usd: Option<f64>,
    /// Claude `--max-turns` per turn.
    pub max_turns: Option<u32>,
    /// Maximum messages per provider session before a fresh one starts.
    pub max_session_messages: Option<u64>,
    /// Permission mode: drives claude `--permission-mode`, codex sandbox flags, gemini `--approval-mode`.
    pub permission_mode: String,
    /// Timeout of cron job and webhook `cron_task` runs, seconds (chat turns use `timeouts`).
    pub cli_timeout: f64,
    /// Reasoning effort (`low` … `max`; `default` omits the flag).
    pub reasoning_effort: String,
    /// Roots allowed for outgoing `<file:...>` sends: `all`, `home` or `workspace`.
    pub file_access: String,
    /// Paths exempt from the deny-list of secrets (ductor's config, CLI credentials,
    /// `~/.ssh`, …) that applies whatever `file_access` says.
    pub file_access_allow: Vec<String>,
    /// Workspace files appended to every turn's system prompt (≤ 256 KiB each).
    pub append_system_prompt_files: Vec<String>,
    /// Forum topic → working directory bindings (§5.8).
    pub project_roots: serde_json::Map<String, serde_json::Value>,
    /// Gemini API key injected when gemini is in API-key mode; stored as `"null"` when unset.
    #[serde(
        serialize_with = "ser_optional_secret",
        deserialize_with = "de_optional_secret"
    )]
    pub gemini_api_key: Option<Secret>,
    /// IANA timezone for daily resets and schedules; empty = `$TZ`, then the system zone, then UTC.
    pub user_timezone: String,
    /// UI language (`en`, `de`, ...).
    pub language: String,
    /// Whether the main agent checks daily for new versions (and offers the upgrade).
    pub update_check: bool,
    /// The crate registry's index entry of `ductor` that the update check reads.
    pub update_index_url: String,
    /// In groups, only react when mentioned or replied to.
    pub group_mention_only: bool,
    /// Port of the original's internal HTTP API; unused by ductor (the bus replaces it), kept for compatibility.
    pub interagent_port: u16,
    /// Primary transport (`telegram`, `matrix`, `slack`).
    pub transport: String,
    /// All transports; normalised so that `transport` comes first.
    pub transports: Vec<String>,
    /// Telegram bot token.
    pub telegram_token: Secret,
    /// Base URL of the Telegram Bot API (for self-hosted Bot API servers).
    pub telegram_api_url: String,
    /// Telegram users allowed to talk to the bot; the first is the primary chat.
    pub allowed_user_ids: Vec<i64>,
    /// Telegram groups the bot serves (allowed users only).
    pub allowed_group_ids: Vec<i64>,
    /// Telegram channels the bot serves.
    pub allowed_channel_ids: Vec<i64>,
    /// Whether bare words like `stop` or `wait` abort the running turn (off: they go to the agent).
    pub abort_words: bool,
    /// CLI runs this agent lets run at once, over every conversation, session and
    /// task; further runs wait for a free slot (interactive turns first).
    pub max_concurrent_runs: usize,
    /// Messages one answer may take in a chat; the rest is sent as a Markdown file.
    pub max_reply_messages: usize,
    /// Live streaming of answers.
    pub streaming: StreamingConfig,
    /// How interactive turns run their CLI: `auto`, `live` or `oneshot` (see
    /// [`super::cli_mode`]).
    pub cli_mode: String,
    /// Limits of the warm CLI processes of `cli_mode` `live`.
    pub live: super::cli_mode::LiveSessionsConfig,
    /// Docker sandbox (the original's block; see [`super::sandbox`]).
    pub docker: serde_json::Value,
    /// Sandbox of every CLI run (over `docker`; see [`super::sandbox`]).
    pub sandbox: serde_json::Value,
    /// Heartbeat observer.
    pub heartbeat: serde_json::Value,
    /// Cleanup of old media and output files.
    pub cleanup: CleanupConfig,
    /// Pre-compaction memory flush.
    pub memory_flush: serde_json::Value,
    /// Periodic memory reflection.
    pub memory_reflection: serde_json::Value,
    /// LLM-driven compaction of MAINMEMORY.md.
    pub memory_compaction: serde_json::Value,
    /// Webhook server.
    pub webhooks: serde_json::Value,
    /// Direct WebSocket API.
    pub api: serde_json::Value,
    /// Extra argv appended per provider.
    pub cli_parameters: CliParameters,
    /// Incoming image processing.
    pub image: ImageConfig,
    /// Turn timeouts.
    pub timeouts: TimeoutsConfig,
    /// Background tasks.
    pub tasks: TasksConfig,
    /// Cron delivery retries.
    pub cron_delivery_retry: serde_json::Value,
    /// Cron preflight scripts.
    pub cron_preflight: serde_json::Value,
    /// Reactions and footer.
    pub scene: SceneConfig,
    /// Startup/upgrade notification routing.
    pub notifications: serde_json::Value,
    /// Voice/video transcription hooks.
    pub transcription: TranscriptionConfig,
    /// Skill directory sync.
    pub skills: serde_json::Value,
    /// Matrix transport settings.
    pub matrix: serde_json::Value,
    /// Slack transport settings.
    pub slack: serde_json::Value,
    /// Supervisor restart policy (main config only).
    pub supervisor: SupervisorConfig,
}

impl Default for AgentConfig {
    // One line per key of the original's config: a list, not logic.
    #[allow(clippy::too_many_lines)]
    fn default() -> Self {
        Self {
            log_level: "INFO".into(),
            provider: "claude".into(),
            model: "opus".into(),
            ductor_home: "~/.ductor".into(),
            idle_timeout_minutes: 1440,
            session_age_warning_hours: 12,
            daily_reset_hour: 4,
            daily_reset_enabled: false,
            max_budget_usd: None,
            max_turns: None,
            max_session_messages: None,
            permission_mode: "bypassPermissions".into(),
            cli_timeout: 1800.0,
            reasoning_effort: "medium".into(),
            file_access: "all".into(),
            file_access_allow: Vec::new(),
            append_system_prompt_files: Vec::new(),
            project_roots: serde_json::Map::new(),
            gemini_api_key: None,
            user_timezone: String::new(),
            language: "en".into(),
            update_check: true,
            update_index_url: crate::upgrade::index::DEFAULT_INDEX_URL.into(),
            group_mention_only: false,
            interagent_port: 8799,
            transport: "telegram".into(),
            transports: vec!["telegram".into()],
            telegram_token: Secret::default(),
            telegram_api_url: DEFAULT_TELEGRAM_API_URL.into(),
            allowed_user_ids: Vec::new(),
            allowed_group_ids: Vec::new(),
            allowed_channel_ids: Vec::new(),
            abort_words: false,
            max_concurrent_runs: 4,
            max_reply_messages: 20,
            streaming: StreamingConfig::default(),
            docker: serde_json::json!({
                "enabled": false, "image_name": "ductor-sandbox", "container_name": "ductor-sandbox",
                "auto_build": true, "mount_host_cache": false, "mounts": [], "published_ports": [],
                "extras": []
            }),
            sandbox: serde_json::json!({}),
            heartbeat: serde_json::json!({
                "enabled": false, "interval_minutes": 30, "cooldown_minutes": 5,
                "quiet_start": 21, "quiet_end": 8,
                "prompt": HEARTBEAT_PROMPT, "ack_token": "HEARTBEAT_OK",
                "group_targets": [{
                    "enabled": false, "transport": "tg", "chat_id": null, "topic_id": null,
                    "prompt": null, "ack_token": null, "interval_minutes": null,
                    "quiet_start": null, "quiet_end": null
                }]
            }),
            cleanup: CleanupConfig::default(),
            memory_flush: serde_json::json!({
                "enabled": true, "flush_prompt": FLUSH_PROMPT, "dedup_seconds": 300
            }),
            memory_reflection: serde_json::json!({
                "enabled": false, "every_n_messages": 10, "prompt": REFLECTION_PROMPT
            }),
            memory_compaction: serde_json::json!({
                "enabled": true, "trigger_lines": 70, "target_lines": 40,
                "preserve_recency_days": 14, "prompt": COMPACTION_PROMPT
            }),
            webhooks: serde_json::json!({
                "enabled": false, "host": "127.0.0.1", "port": 8742, "token": "",
                "max_body_bytes": 262_144, "rate_limit_per_minute": 30
            }),
            api: serde_json::json!({
                "enabled": false, "host": "127.0.0.1", "port": 8741, "token": "",
                "chat_id": 0, "allow_public": false, "web_ui": true, "max_connections": 32
            }),
            cli_parameters: CliParameters::default(),
            cli_mode: "auto".into(),
            live: super::cli_mode::LiveSessionsConfig::default(),
            image: ImageConfig::default(),
            timeouts: TimeoutsConfig::default(),
            tasks: TasksConfig::default(),
            cron_delivery_retry: serde_json::json!({
                "enabled": false, "interval_seconds": 300, "max_attempts": 12
            }),
            cron_preflight: serde_json::json!({
                "enabled": false, "timeout_seconds": 15.0, "skip_marker": "HEARTBEAT_OK"
            }),
            scene: SceneConfig::default(),
            notifications: serde_json::json!({"startup_targets": [], "upgrade_targets": []}),
            transcription: TranscriptionConfig::default(),
            skills: serde_json::json!({
                "sync_enabled": true,
                "sync": {"claude": true, "codex": true, "gemini": true, "grok": true}
            }),
            matrix: serde_json::json!({
                "homeserver": "", "user_id": "", "password": "", "access_token": "",
                "device_id": "", "allowed_rooms": [], "allowed_users": [],
                "store_path": "matrix_store"
            }),
            slack: serde_json::json!({
                "bot_token": "", "app_token": "", "allowed_channels": [], "allowed_users": []
            }),
            supervisor: SupervisorConfig::default(),
        }
    }
}

/// The default `heartbeat.prompt`.
pub const HEARTBEAT_PROMPT: &str = "Heartbeat check. Read memory_system/MAINMEMORY.md and the cron_tasks \
folder. If something useful can be done for the user right now, reply with one short, concrete idea \
or update. Otherwise reply with exactly HEARTBEAT_OK.";
/// The default `memory_flush.flush_prompt`.
pub const FLUSH_PROMPT: &str = "The conversation context is about to be compacted. If this conversation \
produced durable facts about the user, their preferences or decisions, append them to \
memory_system/MAINMEMORY.md now, silently. If there is nothing worth keeping, reply with exactly FLUSH_NOOP.";
/// The default `memory_reflection.prompt`.
pub const REFLECTION_PROMPT: &str = "Silently check whether anything from the recent messages belongs in \
memory_system/MAINMEMORY.md (facts about the user, preferences, decisions). Update it if so; do not \
mention this in your answer.";
/// The default `memory_compaction.prompt` (`{target_lines}`, `{preserve_days}`).
pub const COMPACTION_PROMPT: &str = "memory_system/MAINMEMORY.md has grown too long. Rewrite it to at most \
{target_lines} lines: merge duplicates, drop stale entries, keep everything from the last \
{preserve_days} days. If it is already fine, reply with exactly COMPACT_NOOP.";

/// `streaming` block (§6.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamingConfig {
    /// Stream answers live (edit a message as text arrives).
    pub enabled: bool,
    /// Characters buffered before the first flush.
    pub min_chars: usize,
    /// Buffer size that forces a flush.
    pub max_chars: usize,
    /// Silence after which buffered text is flushed.
    pub idle_ms: u64,
    /// Minimum seconds between two edits of the same message.
    pub edit_interval_seconds: f64,
    /// Failed edits before falling back to append mode.
    pub max_edit_failures: u32,
    /// Post each chunk as a new message instead of editing one.
    pub append_mode: bool,
    /// Flush at sentence ends.
    pub sentence_break: bool,
    /// Post reasoning as separate messages.
    pub show_reasoning_stream: bool,
    /// Show `[TOOL: ...]` indicators while streaming.
    pub show_tool_progress: bool,
    /// Show a `[THINKING]` indicator when the model reasons.
    pub show_thinking_indicator: bool,
    /// How answers stream: `draft` (a native draft where the transport has them:
    /// Telegram private chats; elsewhere `edit`), `edit` (one message edited live) or
    /// `append` (new messages). `append_mode: true` means `append`.
    pub mode: String,
    /// An answer streamed by edits for longer than this many seconds ends in a new
    /// message (so the phone notifies) instead of a last edit; 0 turns it off.
    pub notify_after_seconds: f64,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_chars: 200,
            max_chars: 4000,
            idle_ms: 800,
            edit_interval_seconds: 2.0,
            max_edit_failures: 3,
            append_mode: false,
            sentence_break: true,
            show_reasoning_stream: false,
            show_tool_progress: true,
            show_thinking_indicator: true,
            mode: "draft".into(),
            notify_after_seconds: 10.0,
        }
    }
}

/// `cleanup` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CleanupConfig {
    /// Run the daily cleanup.
    pub enabled: bool,
    /// Days to keep incoming media (legacy alias `telegram_files_days`).
    #[serde(alias = "telegram_files_days")]
    pub media_files_days: u32,
    /// Days to keep `output_to_user/` files.
    pub output_to_user_days: u32,
    /// Days to keep API uploads.
    pub api_files_days: u32,
    /// Hour of the daily check.
    pub check_hour: u32,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            media_files_days: 30,
            output_to_user_days: 30,
            api_files_days: 30,
            check_hour: 3,
        }
    }
}

/// `cli_parameters` block: extra argv per provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CliParameters {
    /// Extra `claude` arguments.
    pub claude: Vec<String>,
    /// Extra `codex` arguments.
    pub codex: Vec<String>,
    /// Extra `gemini` arguments.
    pub gemini: Vec<String>,
    /// Extra `agy` arguments (not driven by ductor; kept for compatibility).
    pub antigravity: Vec<String>,
    /// Extra `grok` arguments (not driven by ductor; kept for compatibility).
    pub grok: Vec<String>,
}

/// `image` block: how incoming images are prepared for the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    /// Longest side in pixels; larger images are downscaled.
    pub max_dimension: u32,
    /// Output format of downscaled images.
    pub output_format: String,
    /// Encoder quality (1–100).
    pub quality: u8,
}

impl Default for ImageConfig {
    fn default() -> Self {
        Self {
            max_dimension: 2000,
            output_format: "webp".into(),
            quality: 85,
        }
    }
}

/// `timeouts` block. `normal` is the one knob for interactive turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeoutsConfig {
    /// Seconds an interactive turn may run (extended while output keeps coming).
    pub normal: f64,
    /// Seconds a background named-session run may take.
    pub background: f64,
    /// Seconds an inter-agent request may take.
    pub subagent: f64,
    /// Kept for compatibility; unused.
    pub warning_intervals: Vec<f64>,
    /// Extend the deadline while the CLI is still producing output.
    pub extend_on_activity: bool,
    /// Seconds added per extension.
    pub activity_extension: f64,
    /// Maximum number of extensions.
    pub max_extensions: u32,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self {
            normal: 600.0,
            background: 1800.0,
            subagent: 3600.0,
            warning_intervals: vec![60.0, 10.0],
            extend_on_activity: true,
            activity_extension: 120.0,
            max_extensions: 3,
        }
    }
}

/// `tasks` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TasksConfig {
    /// Whether background tasks are available.
    pub enabled: bool,
    /// Parallel non-interactive tasks per chat.
    pub max_parallel: u32,
    /// Seconds a task run may take.
    pub timeout_seconds: f64,
    /// Hours finished tasks are kept.
    pub finished_retention_hours: u64,
    /// Newest finished tasks always kept.
    pub finished_keep_last: usize,
    /// How deep tasks may start tasks: 1 = a task cannot start another one.
    pub max_depth: u32,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_parallel: 5,
            timeout_seconds: 3600.0,
            finished_retention_hours: 168,
            finished_keep_last: 100,
            max_depth: 2,
        }
    }
}

/// `scene` block: reactions and footer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SceneConfig {
    /// One-shot 👀 reaction on receipt.
    pub seen_reaction: bool,
    /// The original's stage emoji while a turn runs (🤔, then one per tool), removed at
    /// the end; only when `status_reactions` is off (wins over `seen_reaction`).
    pub status_reaction: bool,
    /// Status reactions on the user's message: 👀 received, ✍ working, then 👍 done,
    /// 👎 failed or 😱 timed out, which stays; a stopped turn loses its reaction.
    /// Replaces `status_reaction` when on.
    pub status_reactions: bool,
    /// Append a technical footer (model, tokens, cost, time).
    pub technical_footer: bool,
}

impl Default for SceneConfig {
    fn default() -> Self {
        Self {
            seen_reaction: false,
            status_reaction: true,
            status_reactions: true,
            technical_footer: false,
        }
    }
}

/// `transcription` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionConfig {
    /// Command that transcribes an audio file (gets the path as last argument).
    pub audio_command: String,
    /// Command that transcribes a video file.
    pub video_command: String,
}

/// `supervisor` block (main config only): restart policy of agent processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupervisorConfig {
    /// Backoff steps in seconds after a crash; the last one repeats for `main`.
    pub restart_backoff_seconds: Vec<f64>,
    /// Consecutive crashes after which a sub-agent is given up.
    pub max_consecutive_failures: u32,
    /// Seconds of uptime after which the crash counter resets.
    pub stable_after_seconds: f64,
    /// Seconds an agent gets between SIGTERM and SIGKILL at shutdown.
    pub stop_grace_seconds: f64,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            restart_backoff_seconds: vec![5.0, 10.0, 20.0, 40.0, 80.0],
            max_consecutive_failures: 5,
            stable_after_seconds: 60.0,
            stop_grace_seconds: 10.0,
        }
    }
}

#[allow(clippy::ref_option)] // serde's `serialize_with` hands us `&Option<_>`
fn ser_optional_secret<S: Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_str(secret.expose()),
        None => s.serialize_str("null"),
    }
}

fn de_optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(v.filter(|s| {
        let t = s.trim();
        !t.is_empty() && !t.eq_ignore_ascii_case("null") && !t.eq_ignore_ascii_case("none")
    })
    .map(Secret::new))
}

impl AgentConfig {
    /// Where this agent's CLI runs happen (`sandbox` over the original's `docker`).
    pub fn sandbox_settings(&self) -> super::sandbox::SandboxSettings {
        super::sandbox::SandboxSettings::from_blocks(&self.sandbox, &self.docker)
    }

    /// Whether the chat transports are usable; returns the keys that still need a value.
    pub fn missing_keys(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.transports.iter().any(|t| t == "telegram") {
            let token = self.telegram_token.expose();
            if token.trim().is_empty() || token.starts_with("YOUR_") {
                missing.push("telegram_token");
            }
            if self.allowed_user_ids.is_empty() {
                missing.push("allowed_user_ids");
            }
        }
        if self.transports.iter().any(|t| t == "matrix") {
            missing.extend(super::matrix::MatrixSettings::from_config(&self.matrix).missing_keys());
        }
        missing
    }
}
