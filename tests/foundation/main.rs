//! Foundation acceptance tests: the real `ductor` and `ductor-agent` binaries in a
//! temporary home (supervisor, restart policy, agents.json following, bus, CLI),
//! the golden files of the original's config and state, the atomic-write kill
//! test and the IPC schema drift check.

#[path = "../support/mod.rs"]
mod support;

mod atomic;
mod bus;
mod cli;
mod config_cli;
mod golden;
mod ipc_schema;
mod layering;
mod properties;
mod supervisor;
