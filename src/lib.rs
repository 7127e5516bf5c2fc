//! ductor: drive the official coding-agent CLIs (`claude`, `codex`, `gemini`) from chat.
//!
//! # Layout
//! - [`paths`]: the single source of every path in the ductor home.
//! - [`store`]: atomic writes, strict config reads, forgiving state loads.
//! - [`persist`]: a state file with one writer task.
//! - [`config`]: `config.json`, `agents.json`, `.env`.
//! - [`state`]: wire shapes of the state files (`sessions.json`, ...).
//! - [`home`]: the embedded `defaults/` template and home seeding.
//! - [`i18n`]: UI strings per language.
//! - [`ipc`]: the local-socket bus contract, framing and client.
//! - [`supervisor`]: the `ductor` process: PID lock, bus hub, agent processes.
//! - [`agent`]: the `ductor-agent` process: one bot.
//! - [`session`]: conversations: session actors, `sessions.json`, in-flight turns.
//! - [`named`]: named sessions (`/session`, `@name`) and inter-agent sessions.
//! - [`provider`]: the provider CLIs: command building, stream parsing, one event stream.
//! - [`tasks`]: background tasks (`ductor task …`): `tasks.json`, task runs, result delivery.
//! - [`transport`]: chat transports (Telegram) and their formatting.
//! - [`cli`]: the `ductor` command line.
//! - [`procs`], [`watch`], [`logging`], [`secret`], [`util`]: process hygiene, file watching,
//!   tracing set-up and redaction, secret values.

pub mod agent;
pub mod cli;
pub mod config;
pub mod home;
pub mod i18n;
pub mod ipc;
pub mod logging;
pub mod named;
pub mod paths;
pub mod persist;
pub mod procs;
pub mod provider;
pub mod secret;
pub mod session;
pub mod state;
pub mod store;
pub mod supervisor;
pub mod tasks;
pub mod transport;
pub mod util;
pub mod watch;

/// ductor's version (from Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
