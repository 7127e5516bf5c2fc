//! Configuration: `config/config.json` (typed view + raw document that keeps
//! unknown keys), `agents.json` and the sub-agent merge, and `.env` secrets.
//!
//! Owns reading and writing these user-editable files. Must not hold runtime state.

pub mod agents;
pub mod env_file;
pub mod load;
pub mod model;

pub use agents::{SubAgentEntry, load_agents, merge_sub_agent};
pub use load::{ConfigError, LoadedConfig, load_config_file};
pub use model::AgentConfig;
