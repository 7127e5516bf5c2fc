//! The one list of chat commands: it generates the transports' command menus and
//! drives the dispatch (an exhaustive `match` on [`Command`]), so the two cannot
//! drift apart.

/// A chat command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `/start`: welcome screen.
    Start,
    /// `/help`.
    Help,
    /// `/new`: fresh session on the configured model.
    New,
    /// `/reset`: fresh session on the current provider.
    Reset,
    /// `/stop`: stop what streams here and drop the queue.
    Stop,
    /// `/interrupt`: stop what runs in this chat, keep the queue.
    Interrupt,
    /// `/session`: start or continue a named session in the background.
    Session,
    /// `/sessions`: list and end named sessions.
    Sessions,
    /// `/model`: the model wizard or a direct switch.
    Model,
    /// `/effort`: the reasoning effort of this conversation.
    Effort,
    /// `/tasks`: background tasks.
    Tasks,
    /// `/cron`: scheduled jobs.
    Cron,
    /// `/status`.
    Status,
    /// `/memory`.
    Memory,
    /// `/agents`.
    Agents,
    /// `/stop_all`.
    StopAll,
    /// `/agent_commands`.
    AgentCommands,
    /// `/showfiles`.
    ShowFiles,
    /// `/info`.
    Info,
    /// `/diagnose`.
    Diagnose,
    /// `/restart`.
    Restart,
    /// `/upgrade`.
    Upgrade,
    /// `/agent_start <name>`.
    AgentStart,
    /// `/agent_stop <name>`.
    AgentStop,
    /// `/agent_restart <name>`.
    AgentRestart,
}

/// One row of the command list.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// The command.
    pub command: Command,
    /// Its name (without `/`).
    pub name: &'static str,
    /// Shown in the transport's command menu.
    pub menu: bool,
    /// Handled at once, not in the chat's order (it must reach a running turn).
    pub immediate: bool,
}

const fn row(command: Command, name: &'static str, menu: bool, immediate: bool) -> CommandSpec {
    CommandSpec {
        command,
        name,
        menu,
        immediate,
    }
}

/// Every command, in menu order (menu entries first).
pub const COMMANDS: &[CommandSpec] = &[
    row(Command::New, "new", true, false),
    row(Command::Reset, "reset", true, false),
    row(Command::Stop, "stop", true, true),
    row(Command::Interrupt, "interrupt", true, true),
    row(Command::Session, "session", true, false),
    row(Command::Sessions, "sessions", true, false),
    row(Command::Model, "model", true, false),
    row(Command::Effort, "effort", true, false),
    row(Command::Tasks, "tasks", true, false),
    row(Command::Cron, "cron", true, false),
    row(Command::Status, "status", true, false),
    row(Command::Memory, "memory", true, false),
    row(Command::Agents, "agents", true, false),
    row(Command::StopAll, "stop_all", true, true),
    row(Command::AgentCommands, "agent_commands", true, false),
    row(Command::ShowFiles, "showfiles", true, false),
    row(Command::Info, "info", true, false),
    row(Command::Help, "help", true, false),
    row(Command::Diagnose, "diagnose", true, false),
    row(Command::Restart, "restart", true, false),
    row(Command::Upgrade, "upgrade", true, false),
    row(Command::Start, "start", false, false),
    row(Command::AgentStart, "agent_start", false, false),
    row(Command::AgentStop, "agent_stop", false, false),
    row(Command::AgentRestart, "agent_restart", false, false),
];

/// The row of command `name` (lower-case, without `/`).
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The menu: names and their descriptions in the catalogue's language.
pub fn menu(text: &crate::i18n::Catalog) -> Vec<(&'static str, String)> {
    COMMANDS
        .iter()
        .filter(|c| c.menu)
        .map(|c| (c.name, text.t(&format!("commands.{}", c.name))))
        .collect()
}

impl Command {
    /// Its name.
    pub fn name(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|c| c.command == self)
            .map_or("", |c| c.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_described() {
        let en = crate::i18n::catalog("en");
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            assert!(seen.insert(c.name), "{} twice", c.name);
            assert_eq!(lookup(c.name).map(|r| r.command), Some(c.command));
            assert_eq!(c.command.name(), c.name);
            let desc = en.t(&format!("commands.{}", c.name));
            assert!(
                !desc.starts_with("commands."),
                "no description for {}",
                c.name
            );
            assert!(desc.chars().count() <= 256, "{desc}");
        }
        let menu = menu(en);
        assert_eq!(menu[0].0, "new");
        assert!(!menu.iter().any(|(n, _)| *n == "start"));
    }
}
