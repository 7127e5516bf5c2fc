//! The shared-knowledge block of the agent's own `MAINMEMORY.md` (§7.5): the
//! content of the home's `SHAREDMEMORY.md` between two marker lines, replaced on
//! every change the supervisor pushes and once at start. Only this agent writes
//! its memory file (atomically, and only when the block changed).

use crate::paths::AgentPaths;

/// First line of the block.
pub const START: &str = "--- SHARED KNOWLEDGE START ---";
/// Last line of the block.
pub const END: &str = "--- SHARED KNOWLEDGE END ---";
const LEGACY_START: &str = "<!-- SHARED:START -->";
const LEGACY_END: &str = "<!-- SHARED:END -->";

/// `memory` with its shared block set to `shared` (legacy markers are migrated;
/// a missing block is appended at the end).
pub fn with_shared_block(memory: &str, shared: &str) -> String {
    let block = format!("{START}\n{}\n{END}", shared.trim());
    for (start, end) in [(START, END), (LEGACY_START, LEGACY_END)] {
        if let Some(a) = memory.find(start)
            && let Some(rel) = memory[a..].find(end)
        {
            let b = a + rel + end.len();
            return format!("{}{block}{}", &memory[..a], &memory[b..]);
        }
    }
    let base = memory.trim_end();
    if base.is_empty() {
        format!("{block}\n")
    } else {
        format!("{base}\n\n{block}\n")
    }
}

/// Puts `shared` into the agent's `MAINMEMORY.md`; returns whether the file changed.
pub fn sync(paths: &AgentPaths, shared: &str) -> bool {
    let path = paths.main_memory();
    let Ok(current) = std::fs::read_to_string(&path) else {
        return false;
    };
    let next = with_shared_block(&current, shared);
    if next == current {
        return false;
    }
    match crate::store::write_atomic(&path, next.as_bytes()) {
        Ok(()) => {
            tracing::info!(file = %path.display(), "shared knowledge updated in memory");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot update the shared knowledge block");
            false
        }
    }
}

/// Syncs from the home's `SHAREDMEMORY.md` (at start).
pub fn sync_from_file(paths: &AgentPaths) {
    if let Ok(shared) = std::fs::read_to_string(paths.home().shared_memory()) {
        sync(paths, &shared);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_appended_replaced_and_migrated() {
        let first = with_shared_block("# Main Memory\n- a\n", "- shared one");
        assert_eq!(
            first,
            format!("# Main Memory\n- a\n\n{START}\n- shared one\n{END}\n")
        );
        let second = with_shared_block(&format!("{first}- b (added later)\n"), "- shared two\n");
        assert!(second.contains("- shared two") && !second.contains("shared one"));
        assert!(second.ends_with("- b (added later)\n"), "{second}");
        let legacy = format!("top\n{LEGACY_START}\nold\n{LEGACY_END}\nbottom\n");
        let migrated = with_shared_block(&legacy, "new");
        assert_eq!(migrated, format!("top\n{START}\nnew\n{END}\nbottom\n"));
        assert_eq!(with_shared_block(&migrated, "new"), migrated);
    }
}
