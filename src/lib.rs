//! ductor: drive the official coding-agent CLIs (`claude`, `codex`, `gemini`) from chat.
//!
//! # Layout
//! The core is transport-neutral; transports plug in at the edges, the composition
//! root (`agent`) wires everything and is imported by nothing.
//!
//! - [`paths`]: the single source of every path in the ductor home.
//! - [`access`]: which files may leave the machine (roots, the deny-list of secrets).
//! - [`store`]: atomic writes, strict config reads, forgiving state loads.
//! - [`persist`]: a state file with one writer.
//! - [`config`]: `config.json`, `agents.json`, `.env`, the live config of a running agent.
//! - [`state`]: wire shapes of the state files (`sessions.json`, ...).
//! - [`home`]: the embedded `defaults/` template and home seeding.
//! - [`i18n`], [`md`]: UI strings (one dialect: Markdown) and building Markdown safely.
//! - [`ipc`]: the local-socket bus contract, framing and client.
//! - [`supervisor`]: the `ductor` process: PID lock, bus hub, agent processes.
//! - [`address`]: neutral addressing (transport, chat, topic; message references;
//!   the primary chat), and the directory transports answer it with.
//! - [`exec`]: the launcher seam where every CLI run leaves the agent (host today).
//! - [`provider`]: the provider CLIs: command building, stream parsing, one event stream.
//! - [`session`]: the one turn pipeline, one actor per (address, lane), the run board,
//!   `sessions.json`, in-flight turns, the outbox.
//! - [`named`]: named sessions (`/session`, `@name`) and inter-agent sessions.
//! - [`tasks`]: background tasks (`ductor task …`): `tasks.json`, task runs, results.
//! - [`cron`]: scheduled jobs (`cron_jobs.json`) run as one-shot lanes, results
//!   through the outbox.
//! - [`webhooks`]: the webhook HTTP server (validation, auth, replay and rate
//!   limits, templates) and `webhooks.json`.
//! - [`skills`]: the skills sync between the workspace and the CLIs' skill folders.
//! - [`cleanup`]: the daily deletion of old received media and sent files.
//! - [`heartbeat`]: the heartbeat and the stale-run reaper.
//! - [`memory`], [`upkeep`]: the shared-knowledge block of `MAINMEMORY.md`; the flush
//!   and compaction after a CLI compacted its context.
//! - [`zone`]: which time zone applies (job, `user_timezone`, `$TZ`, system, UTC).
//! - [`core`]: one agent's core assembled (engine, conversations, named, tasks, cron).
//! - [`ops`]: what commands, buttons and messages mean, for every transport: replies
//!   of Markdown and typed actions.
//! - [`chat`]: the chat machinery transports share: live rendering of turns, posting,
//!   outbox delivery, markers, media, sent files.
//! - [`transport`]: the chat transports (Telegram): ingress and their chat API.
//! - [`agent`]: the `ductor-agent` process: composition root of one bot.
//! - [`cli`]: the `ductor` command line.
//! - [`upgrade`]: the version check, the daily update observer and the upgrade
//!   pipeline (`ductor upgrade`, `/upgrade`).
//! - [`listen`]: binding local HTTP listeners and the handle of a running server.
//! - [`procs`], [`watch`], [`logging`], [`secret`], [`util`]: process hygiene, file watching,
//!   tracing set-up and redaction, secret values, small helpers.

pub mod access;
pub mod address;
pub mod agent;
pub mod chat;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod core;
pub mod cron;
pub mod exec;
pub mod heartbeat;
pub mod home;
pub mod i18n;
pub mod ipc;
pub mod listen;
pub mod logging;
pub mod md;
pub mod memory;
pub mod named;
pub mod ops;
pub mod paths;
pub mod persist;
pub mod pidlock;
pub mod procs;
pub mod provider;
pub mod sandbox;
pub mod secret;
pub mod session;
pub mod skills;
pub mod state;
pub mod store;
pub mod supervisor;
pub mod tasks;
pub mod transport;
pub mod upgrade;
pub mod upkeep;
pub mod util;
pub mod watch;
pub mod webhooks;
pub mod zone;

/// ductor's version (from Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
