//! The `ductor` command line: argument definitions and one module per command.
//! Commands talk to a running supervisor over the bus; they never touch another
//! process's state files except the user-owned `agents.json`.

pub mod agents;
pub mod api;
pub mod ask;
pub mod caller;
pub mod config;
pub mod cron;
pub mod docker;
pub mod doctor;
pub mod lifecycle;
pub mod onboarding;
pub mod service;
pub mod shared_memory;
pub mod status;
pub mod task;
pub mod uninstall;
pub mod upgrade;
pub mod webhooks;

use crate::paths::Home;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// `ductor`: run the supervisor, or manage it.
#[derive(Debug, Parser)]
#[command(
    name = "ductor",
    version = crate::VERSION,
    about = "Drive the claude, codex and gemini CLIs from chat",
    long_about = "Run without a command to start ductor in the foreground: the supervisor and one \
                  ductor-agent process per bot (main + the sub-agents of agents.json)."
)]
pub struct Cli {
    /// ductor home (default: $`DUCTOR_HOME`, else ~/.ductor).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// More logging (-v debug, -vv trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do (default: run in the foreground).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The home this invocation works on.
    pub fn home(&self) -> Home {
        Home::resolve(self.home.as_deref())
    }
}

/// `ductor` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run ductor in the foreground (the default).
    Run,
    /// Show whether ductor runs and how every agent is doing.
    Status,
    /// Stop the running ductor (all agents and their CLI processes).
    Stop,
    /// Restart the running ductor (or start it in the background).
    Restart,
    /// Manage sub-agents (agents.json).
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Ask another agent (run by an agent's CLI; prints the answer, or a task id with --async).
    Ask(ask::AskArgs),
    /// Show or edit SHAREDMEMORY.md, the knowledge every agent shares.
    #[command(subcommand, name = "shared-memory")]
    SharedMemory(shared_memory::SharedMemoryCommand),
    /// Background tasks (run by an agent's CLI: create, resume, ask-parent, list, cancel, delete).
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Scheduled jobs of an agent (add, edit, list, remove, time).
    Cron {
        /// The agent (default: $`DUCTOR_AGENT_NAME`, else main).
        #[arg(long, global = true)]
        agent: Option<String>,
        /// What to do.
        #[command(subcommand)]
        cmd: cron::CronCommand,
    },
    /// Webhooks of the main agent (add, edit, list, remove, rotate-token, test).
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// The direct API of the main agent: enable (prints its URL), disable, status.
    #[command(subcommand)]
    Api(api::ApiCommand),
    /// The sandbox every CLI run happens in: rebuild, enable, disable, status, mount, unmount,
    /// mounts, extras, extras-add, extras-remove.
    #[command(subcommand)]
    Docker(docker::DockerCommand),
    /// Set ductor up (or change its set-up): transport, token, users, provider, sandbox,
    /// timezone, service.
    Onboarding(onboarding::OnboardingArgs),
    /// Stop ductor, optionally delete its data, and run the set-up again.
    Reset(onboarding::OnboardingArgs),
    /// Read or change one setting of config.json (or of a sub-agent's entry), by dotted key.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Check this home: config, tokens (live), CLIs and their versions, clock, bus, service,
    /// sandbox, disk, permissions; exit status 1 when something blocks running.
    Doctor,
    /// Run ductor as a user service: install, uninstall, start, stop, restart, status, logs.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Stop ductor, remove its service and sandbox, and (after asking) delete the home.
    Uninstall(uninstall::UninstallArgs),
    /// Upgrade ductor to the newest release the way it was installed, then restart it.
    Upgrade(upgrade::UpgradeArgs),
    /// Print a shell completion script.
    Completions {
        /// Shell to generate for.
        shell: clap_complete::Shell,
    },
}

/// `ductor agents ...`.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// List the agents, with live status when ductor runs.
    List,
    /// Add a Telegram sub-agent (asks for missing values on a terminal).
    Add(agents::AddArgs),
    /// Remove a sub-agent (its data directory is kept).
    Remove {
        /// Agent name.
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

/// Writes the completion script for `shell` to stdout.
pub fn print_completions(shell: clap_complete::Shell) {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "ductor", &mut std::io::stdout());
}
