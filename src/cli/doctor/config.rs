//! The configuration part of `ductor doctor`, read without writing: `config.json` and
//! `agents.json` (syntax and type errors as `file:line:col`, values out of range, keys
//! that must be set, per agent), every agent's `user_timezone`, and which provider
//! CLIs the agents need on this host.

use super::{Agent, Finding, info, problem};
use crate::config::ConfigError;
use crate::paths::{Home, MAIN_AGENT};
use crate::provider::ProviderKind;
use crate::store::StoreError;
use std::collections::BTreeSet;

/// A configuration error as one line; a syntax or type error as `file:line:col: what`
/// with the file's full path (the live-reload notice, [`crate::config::reload::locate`],
/// shows it relative to the home instead).
fn describe(e: &ConfigError) -> String {
    match e {
        ConfigError::Store(StoreError::Parse {
            path,
            line,
            column,
            message,
        }) if *line > 0 => format!(
            "{}:{line}:{column}: {message} (ductor leaves the file as it is: fix it there)",
            path.display()
        ),
        other => other.to_string(),
    }
}

/// The main config and `agents.json` (read, never written): syntax with its position,
/// values out of range, keys that must be set. Returns the agents whose configuration
/// loaded.
pub fn config_findings(home: &Home) -> (Vec<Finding>, Vec<Agent>) {
    let mut out = Vec::new();
    let mut agents = Vec::new();
    let file = home.main().config_file();
    let main_raw = match crate::config::load::read_config_file(&file) {
        Ok(None) => {
            out.push(problem(format!(
                "there is no config at {}: run `ductor` to set ductor up",
                file.display()
            )));
            None
        }
        Err(e) => {
            out.push(problem(describe(&e)));
            None
        }
        Ok(Some(c)) => {
            let missing = c.config.missing_keys();
            out.push(if missing.is_empty() {
                info(format!("config: {} is valid", file.display()))
            } else {
                problem(format!(
                    "{}: set {} (`ductor config set KEY VALUE`): ductor cannot start without",
                    file.display(),
                    missing.join(", ")
                ))
            });
            agents.push(Agent {
                name: MAIN_AGENT.into(),
                config: c.config,
            });
            Some(c.raw)
        }
    };
    let entries = match crate::config::load_agents(&home.agents_file()) {
        Ok(entries) => entries,
        Err(e) => {
            out.push(problem(describe(&e)));
            Vec::new()
        }
    };
    let raw_entries = main_raw
        .as_ref()
        .map(|raw| entries.iter().map(move |e| (raw, e)));
    for (raw, entry) in raw_entries.into_iter().flatten() {
        match crate::config::agents::agent_config(home, &entry.name, raw, &entries) {
            Ok(Some(config)) => {
                let missing = config.missing_keys();
                if !missing.is_empty() {
                    out.push(problem(format!(
                        "agent `{}` in {}: set {} (`ductor config set --agent {} KEY VALUE`)",
                        entry.name,
                        home.agents_file().display(),
                        missing.join(", "),
                        entry.name
                    )));
                }
                agents.push(Agent {
                    name: entry.name.clone(),
                    config,
                });
            }
            Ok(None) => {}
            Err(e) => out.push(problem(format!("agent `{}`: {}", entry.name, describe(&e)))),
        }
    }
    (out, agents)
}

/// `user_timezone` of every agent is a zone (the main one is always shown; a
/// sub-agent only when its own value is wrong).
pub fn timezone_findings(agents: &[Agent]) -> Vec<Finding> {
    let main_zone = agents
        .iter()
        .find(|a| a.name == MAIN_AGENT)
        .map(|a| a.config.user_timezone.trim());
    let mut out = Vec::new();
    for a in agents {
        let zone = a.config.user_timezone.trim();
        let is_main = a.name == MAIN_AGENT;
        if !is_main && Some(zone) == main_zone {
            continue;
        }
        if zone.is_empty() {
            if is_main {
                let used = crate::zone::resolve_zone(None, "").tz;
                out.push(info(format!(
                    "user_timezone: not set, schedules use {used} (`ductor config set user_timezone Europe/Berlin` to choose)"
                )));
            }
        } else if zone.parse::<chrono_tz::Tz>().is_err() {
            out.push(problem(format!(
                "user_timezone {zone:?} of {} is not an IANA time zone: set one like Europe/Berlin \
                 (`ductor config set{} user_timezone Europe/Berlin`)",
                if is_main {
                    "main".to_owned()
                } else {
                    format!("agent `{}`", a.name)
                },
                if is_main {
                    String::new()
                } else {
                    format!(" --agent {}", a.name)
                }
            )));
        } else if is_main {
            out.push(info(format!("user_timezone: {zone}")));
        }
    }
    out
}

/// The providers agents run on this host: their CLIs must be there. A container
/// sandbox brings its own.
pub fn host_providers(agents: &[Agent]) -> BTreeSet<ProviderKind> {
    agents
        .iter()
        .filter(|a| a.config.sandbox_settings().backend.engine().is_none())
        .filter_map(|a| a.config.provider.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;

    #[test]
    fn a_config_error_names_file_line_and_column_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        crate::home::seed_agent_home(&home.main()).unwrap();
        let config = home.main().config_file();
        let text = "{\n  \"telegram_token\": \"1:a\",\n  \"allowed_user_ids\": [1,]\n}\n";
        std::fs::write(&config, text).unwrap();
        let (found, agents) = config_findings(&home);
        assert!(agents.is_empty());
        let expected = format!("{}:3:26: ", config.display());
        assert!(
            found[0].problem && found[0].text.starts_with(&expected),
            "{found:?}"
        );
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
        // A value of the wrong type has its position too.
        std::fs::write(
            &config,
            "{\"allowed_user_ids\": [1],\n \"max_turns\": \"many\"}",
        )
        .unwrap();
        let (found, _) = config_findings(&home);
        assert!(
            found[0]
                .text
                .starts_with(&format!("{}:2:", config.display())),
            "{found:?}"
        );
        // A config without a token names the keys to set.
        std::fs::write(&config, "{}").unwrap();
        let (found, agents) = config_findings(&home);
        assert_eq!(agents.len(), 1);
        assert!(
            found[0].problem
                && found[0]
                    .text
                    .contains("set telegram_token, allowed_user_ids")
        );
        // agents.json with a syntax error: its position.
        std::fs::write(home.agents_file(), "[{\"name\": \"a\"}").unwrap();
        let (found, _) = config_findings(&home);
        assert!(found[1].text.contains("agents.json:1:"), "{found:?}");
        // A value of the wrong type in an entry: the entry's line and column.
        std::fs::write(
            home.agents_file(),
            "[\n {\"name\": \"a\",\n  \"max_turns\": \"many\"}]",
        )
        .unwrap();
        let (found, _) = config_findings(&home);
        assert!(
            found[1].problem
                && found[1].text.starts_with("agent `a`: ")
                && found[1].text.contains("agents.json:3:21: invalid type"),
            "{found:?}"
        );
    }

    #[test]
    fn a_time_zone_must_be_an_iana_zone() {
        let agent = |name: &str, zone: &str| Agent {
            name: name.into(),
            config: AgentConfig {
                user_timezone: zone.into(),
                ..Default::default()
            },
        };
        let f = timezone_findings(&[agent("main", "Europe/Berlin"), agent("a", "Europe/Berlin")]);
        assert_eq!(f, [info("user_timezone: Europe/Berlin".into())]);
        let f = timezone_findings(&[agent("main", "Mars/Olympus"), agent("a", "Mars/Olympus")]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].problem
                && f[0]
                    .text
                    .contains("\"Mars/Olympus\" of main is not an IANA time zone")
        );
        let f = timezone_findings(&[agent("main", ""), agent("a", "Berlin")]);
        assert!(
            !f[0].problem
                && f[0]
                    .text
                    .starts_with("user_timezone: not set, schedules use ")
        );
        assert!(
            f[1].problem && f[1].text.contains("--agent a user_timezone"),
            "{f:?}"
        );
    }

    #[test]
    fn a_cli_in_a_container_sandbox_is_not_needed_on_the_host() {
        let agent = |name: &str, provider: &str, sandbox: serde_json::Value| Agent {
            name: name.into(),
            config: AgentConfig {
                provider: provider.into(),
                sandbox,
                ..Default::default()
            },
        };
        let agents = [
            agent("main", "claude", serde_json::json!({"backend": "bwrap"})),
            agent("a", "codex", serde_json::json!({"backend": "docker"})),
            agent("b", "gemini", serde_json::json!({})),
        ];
        assert_eq!(
            host_providers(&agents).into_iter().collect::<Vec<_>>(),
            [ProviderKind::Claude, ProviderKind::Gemini]
        );
    }
}
