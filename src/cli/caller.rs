//! Who runs an agent tool (`ductor ask`, `ductor task`, `ductor shared-memory`):
//! read from the `DUCTOR_*` variables ductor gives every CLI it starts (§3.6).

use crate::paths::Home;
use std::path::Path;

/// The calling agent and the conversation its CLI runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The ductor home (bus socket).
    pub home: Home,
    /// The agent to talk to.
    pub agent: String,
    /// Transport of the calling turn's chat (`DUCTOR_TRANSPORT`, `tg` when unset).
    pub transport: String,
    /// Chat of the calling turn (0 = the agent's primary chat).
    pub chat_id: i64,
    /// Forum topic of the calling turn.
    pub topic_id: Option<i64>,
    /// Set inside a task.
    pub task_id: Option<String>,
}

/// Refuses a text too long to go over the bus in one message, saying what to do.
pub fn within_limit(what: &str, text: &str) -> Result<(), String> {
    let max = crate::ipc::MAX_TEXT;
    if text.len() <= max {
        return Ok(());
    }
    Err(format!(
        "the {what} is {} KiB; at most {} KiB fit in one message: write the rest to a file and pass its path",
        text.len().div_ceil(1024),
        max / 1024
    ))
}

/// The ductor home of a tool call: `--home`, else `DUCTOR_ROOT` (the main home,
/// also for sub-agents), else the default home.
pub fn home_of(home_flag: Option<&Path>, var: &impl Fn(&str) -> Option<String>) -> Home {
    match (
        home_flag,
        var("DUCTOR_ROOT").filter(|v| !v.trim().is_empty()),
    ) {
        (Some(h), _) => Home::new(h),
        (None, Some(root)) => Home::new(root),
        (None, None) => Home::resolve(None),
    }
}

/// Reads the caller from `var` (the process environment in production).
pub fn caller(
    home_flag: Option<&Path>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Caller, String> {
    let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
    if home_flag.is_none() && get("DUCTOR_ROOT").is_none() {
        return Err(
            "DUCTOR_ROOT is not set: this command is run by an agent inside ductor (or pass --home)"
                .into(),
        );
    }
    let home = home_of(home_flag, &var);
    let agent = get("DUCTOR_AGENT_NAME")
        .ok_or("DUCTOR_AGENT_NAME is not set: this command is run by an agent inside ductor")?;
    let number = |k: &str| -> Result<Option<i64>, String> {
        get(k)
            .map(|v| {
                crate::address::parse_chat_id(v.trim())
                    .ok_or_else(|| format!("{k} is not a number: `{v}`"))
            })
            .transpose()
    };
    let transport = get("DUCTOR_TRANSPORT").unwrap_or_else(|| crate::address::TELEGRAM.to_owned());
    if !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "DUCTOR_TRANSPORT is not a transport tag: `{transport}`"
        ));
    }
    Ok(Caller {
        home,
        agent,
        transport: transport.trim().to_owned(),
        chat_id: number("DUCTOR_CHAT_ID")?.unwrap_or(0),
        topic_id: number("DUCTOR_TOPIC_ID")?,
        task_id: get("DUCTOR_TASK_ID"),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An environment of `pairs` for [`caller`].
    pub(crate) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_caller_comes_from_the_ductor_variables() {
        let c = caller(
            None,
            vars(&[
                ("DUCTOR_ROOT", "/h"),
                ("DUCTOR_AGENT_NAME", "sub1"),
                ("DUCTOR_CHAT_ID", "42"),
                ("DUCTOR_TOPIC_ID", "7"),
                ("DUCTOR_TRANSPORT", "mx"),
            ]),
        )
        .unwrap();
        assert_eq!(c.home.root(), Path::new("/h"));
        assert_eq!(
            (
                c.agent.as_str(),
                c.transport.as_str(),
                c.chat_id,
                c.topic_id
            ),
            ("sub1", "mx", 42, Some(7))
        );
        assert!(caller(None, vars(&[("DUCTOR_AGENT_NAME", "x")])).is_err());
        let bad = caller(
            None,
            vars(&[
                ("DUCTOR_ROOT", "/h"),
                ("DUCTOR_AGENT_NAME", "x"),
                ("DUCTOR_CHAT_ID", "abc"),
            ]),
        );
        assert!(bad.unwrap_err().contains("DUCTOR_CHAT_ID"));
        let err = caller(None, vars(&[("DUCTOR_ROOT", "/h")])).unwrap_err();
        assert!(err.contains("DUCTOR_AGENT_NAME"), "{err}");
        let no_chat = caller(
            None,
            vars(&[("DUCTOR_ROOT", "/h"), ("DUCTOR_AGENT_NAME", "m")]),
        );
        let no_chat = no_chat.unwrap();
        assert_eq!(no_chat.chat_id, 0, "no chat = the primary chat");
        assert_eq!(
            no_chat.transport, "tg",
            "files and tools that predate transports"
        );
        let hostile = caller(
            None,
            vars(&[
                ("DUCTOR_ROOT", "/h"),
                ("DUCTOR_AGENT_NAME", "m"),
                ("DUCTOR_TRANSPORT", "tg:1"),
            ]),
        );
        assert!(hostile.unwrap_err().contains("DUCTOR_TRANSPORT"));
    }
}
