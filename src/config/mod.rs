//! Configuration: `config/config.json` (typed view + raw document that keeps
//! unknown keys), `agents.json` and the sub-agent merge, and `.env` secrets; the
//! running agent's [`LiveConfig`] and its live reload from the files ([`reload`]).
//!
//! Owns reading and writing these user-editable files. Must not hold runtime state
//! beyond the live config itself (services react to it by subscribing).

pub mod agents;
pub mod check;
pub mod cli_mode;
pub mod env_file;
pub mod live;
pub mod load;
pub mod matrix;
pub mod model;
pub mod reload;
pub mod sandbox;

pub use agents::{SubAgentEntry, load_agents, merge_sub_agent};
pub use live::{Change as ConfigChange, LiveConfig};
pub use load::{ConfigError, LoadedConfig, load_config_file};
pub use model::AgentConfig;

use crate::paths::{Home, MAIN_AGENT};

/// The typed config of agent `name` of `home`: `main` from `config.json`, a sub-agent
/// merged from its `agents.json` entry.
pub fn load_agent(home: &Home, name: &str) -> Result<AgentConfig, ConfigError> {
    let main = load_config_file(&home.main().config_file())?;
    let entries = if name == MAIN_AGENT {
        Vec::new()
    } else {
        load_agents(&home.agents_file())?
    };
    agents::agent_config(home, name, &main.raw, &entries)?
        .ok_or_else(|| ConfigError::UnknownAgent(name.to_owned()))
}
