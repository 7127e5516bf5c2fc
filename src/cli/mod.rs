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
pub mod media;
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
    /// Media tools for an agent's CLI: info, list, read, video, transcribe (JSON output).
    Media {
        /// The agent (default: $`DUCTOR_AGENT_NAME`, else main).
        #[arg(long, global = true)]
        agent: Option<String>,
        /// What to do.
        #[command(subcommand)]
        cmd: media::MediaCommand,
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

/// The command line of `ductor`, its help as plain text: the doc comments that
/// clap shows as help are also rustdoc, where identifiers carry Markdown backticks
/// (`` `DUCTOR_HOME` ``); the terminal shows them without.
pub fn command() -> clap::Command {
    plain(<Cli as clap::CommandFactory>::command())
}

/// Parses this process's arguments with [`command`]; exits with clap's message on
/// bad ones (and prints help or the version when asked).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `text` without Markdown backticks.
fn unticked(text: &clap::builder::StyledStr) -> String {
    text.to_string().replace('`', "")
}

/// `cmd` and its subcommands with every help text as plain text.
fn plain(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.mut_args(|arg| {
        let help = arg.get_help().map(unticked);
        let long = arg.get_long_help().map(unticked);
        let arg = match help {
            Some(h) => arg.help(h),
            None => arg,
        };
        match long {
            Some(h) => arg.long_help(h),
            None => arg,
        }
    });
    if let Some(about) = cmd.get_about().map(unticked) {
        cmd = cmd.about(about);
    }
    if let Some(long) = cmd.get_long_about().map(unticked) {
        cmd = cmd.long_about(long);
    }
    cmd.mut_subcommands(plain)
}

/// Writes the completion script for `shell` to stdout.
pub fn print_completions(shell: clap_complete::Shell) {
    let mut cmd = command();
    clap_complete::generate(shell, &mut cmd, "ductor", &mut std::io::stdout());
}

#[cfg(test)]
mod tests {
    /// Every help screen, the top one and each subcommand's, short and long.
    fn helps(cmd: &mut clap::Command, out: &mut Vec<(String, String)>) {
        let name = cmd.get_name().to_owned();
        out.push((name.clone(), cmd.render_help().to_string()));
        out.push((name, cmd.render_long_help().to_string()));
        for sub in cmd.get_subcommands_mut() {
            helps(sub, out);
        }
    }

    #[test]
    fn help_reads_as_plain_text() {
        let mut all = Vec::new();
        helps(&mut super::command(), &mut all);
        assert!(all.len() > 40, "every subcommand: {}", all.len());
        for (name, text) in &all {
            assert!(
                !text.contains('`'),
                "`{name}` help shows a backtick:\n{text}"
            );
        }
        let top = &all[1].1;
        assert!(top.contains("$DUCTOR_HOME"), "{top}");
        // The doc comments keep their Markdown for rustdoc.
        let raw = <super::Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(raw.contains('`'), "the test would pass without the fix");
    }
}
