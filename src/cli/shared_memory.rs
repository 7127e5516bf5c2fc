//! `ductor shared-memory show|append|set`: the knowledge every agent shares
//! (`SHAREDMEMORY.md` in the main home, §7.5). The supervisor notices the change
//! and every agent copies it into its own `MAINMEMORY.md`. Writes are atomic and
//! serialised by a lock file, so two agents appending at once lose nothing.

use super::caller::home_of;
use crate::paths::Home;
use clap::Subcommand;
use std::path::Path;

/// Header of a new `SHAREDMEMORY.md`.
const HEADER: &str = "# Shared Knowledge\n\nFacts every agent should know.\n";

/// `ductor shared-memory ...`.
#[derive(Debug, Subcommand)]
pub enum SharedMemoryCommand {
    /// Print the shared knowledge.
    Show,
    /// Add a line (or paragraph) at the end.
    Append {
        /// The text.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Replace the whole content.
    Set {
        /// The new content.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
}

/// Runs the command; returns the exit code.
pub fn run(home_flag: Option<&Path>, cmd: SharedMemoryCommand) -> i32 {
    let home = home_of(home_flag, &|k: &str| std::env::var(k).ok());
    match execute(&home, cmd) {
        Ok(out) => {
            if !out.is_empty() {
                println!("{}", out.trim_end());
            }
            0
        }
        Err(e) => {
            eprintln!("ductor shared-memory: {e}");
            1
        }
    }
}

/// Applies `cmd` to the shared memory of `home`; returns what to print.
pub fn execute(home: &Home, cmd: SharedMemoryCommand) -> Result<String, String> {
    let path = home.shared_memory();
    let read = || match std::fs::read_to_string(&path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HEADER.to_owned()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    };
    let text = match cmd {
        SharedMemoryCommand::Show => return read(),
        SharedMemoryCommand::Append { text } | SharedMemoryCommand::Set { text }
            if text.join(" ").trim().is_empty() =>
        {
            return Err("the text is empty".into());
        }
        SharedMemoryCommand::Append { text } => (false, text.join(" ")),
        SharedMemoryCommand::Set { text } => (true, text.join(" ")),
    };
    let _lock = crate::store::lock_beside(&path)
        .map_err(|e| format!("cannot lock the shared memory: {e}"))?;
    let next = if text.0 {
        format!("{}\n", text.1.trim())
    } else {
        format!("{}\n{}\n", read()?.trim_end(), text.1.trim())
    };
    super::caller::within_limit("shared memory", &next)?;
    crate::store::write_atomic(&path, next.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!(
        "Shared memory updated ({} bytes); every agent gets it within seconds.",
        next.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        vec![s.to_owned()]
    }

    #[test]
    fn shared_memory_over_the_bus_limit_is_refused_and_the_old_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        execute(
            &home,
            SharedMemoryCommand::Set {
                text: words("- small"),
            },
        )
        .unwrap();
        let big = "x".repeat(crate::ipc::MAX_TEXT);
        let err = execute(&home, SharedMemoryCommand::Append { text: vec![big] }).unwrap_err();
        assert!(err.contains("at most 512 KiB"), "{err}");
        let kept = execute(&home, SharedMemoryCommand::Show).unwrap();
        assert_eq!(kept.trim(), "- small");
    }

    #[test]
    fn append_keeps_the_content_and_set_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let shown = execute(&home, SharedMemoryCommand::Show).unwrap();
        assert!(shown.starts_with("# Shared Knowledge"));
        execute(
            &home,
            SharedMemoryCommand::Append {
                text: words("- the VPS is in Frankfurt"),
            },
        )
        .unwrap();
        execute(
            &home,
            SharedMemoryCommand::Append {
                text: words("- deploys on Fridays are banned"),
            },
        )
        .unwrap();
        let shown = execute(&home, SharedMemoryCommand::Show).unwrap();
        assert!(shown.starts_with("# Shared Knowledge"));
        assert!(
            shown.ends_with("- the VPS is in Frankfurt\n- deploys on Fridays are banned\n"),
            "{shown}"
        );
        execute(
            &home,
            SharedMemoryCommand::Set {
                text: words("only this"),
            },
        )
        .unwrap();
        assert_eq!(
            execute(&home, SharedMemoryCommand::Show).unwrap(),
            "only this\n"
        );
        assert!(execute(&home, SharedMemoryCommand::Append { text: words("  ") }).is_err());
    }
}
