//! The module boundaries hold: the core (conversations, named sessions, tasks, the
//! command layer, providers, launchers and the state they keep) imports neither
//! `teloxide` nor a transport nor the shared chat machinery; the shared chat
//! machinery imports no transport; and the composition root (`agent`) is imported by
//! no other module. Test code (after `#[cfg(test)]`, or under a `tests/` folder) may
//! use the production dialect.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` (or `dir` itself when it is a file).
fn files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

/// The production part of a source file: test folders are skipped entirely, test
/// modules at the end of a file are cut off.
fn production(path: &Path) -> Option<String> {
    if path.components().any(|c| c.as_os_str() == "tests")
        || path.file_name().is_some_and(|n| n == "tests.rs")
    {
        return None;
    }
    let text = std::fs::read_to_string(path).unwrap();
    Some(match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    })
}

/// `(file, line)` of every production line under `roots` that mentions one of `needles`.
fn offenders(roots: &[&str], needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for root in roots {
        for path in files(&src().join(root)) {
            let Some(text) = production(&path) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if needles.iter().any(|n| code.contains(n)) {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    found
}

const CORE: &[&str] = &[
    "session",
    "named",
    "tasks",
    "ops",
    "provider",
    "exec",
    "core.rs",
    "address.rs",
    "md.rs",
    "config",
    "state",
    "store.rs",
    "persist.rs",
    "i18n.rs",
];

#[test]
fn the_core_knows_no_transport() {
    let bad = offenders(
        CORE,
        &[
            "teloxide",
            "crate::transport",
            "crate::chat",
            "crate::agent",
        ],
    );
    assert!(
        bad.is_empty(),
        "the core imports downstream code:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_shared_chat_machinery_knows_no_transport() {
    let bad = offenders(&["chat"], &["teloxide", "crate::transport", "crate::agent"]);
    assert!(
        bad.is_empty(),
        "chat/ imports a transport:\n{}",
        bad.join("\n")
    );
}

#[test]
fn nothing_imports_the_composition_root() {
    let all: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "agent" && n != "lib.rs")
        .collect();
    let roots: Vec<&str> = all.iter().map(String::as_str).collect();
    let bad = offenders(&roots, &["crate::agent", "ductor::agent"]);
    assert!(
        bad.is_empty(),
        "the composition root is imported:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checks_see_a_violation() {
    // The scanner itself: a made-up file with an import must be found.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.rs");
    std::fs::write(
        &f,
        "use crate::transport::telegram;\n#[cfg(test)]\nuse teloxide;\n",
    )
    .unwrap();
    let text = production(&f).unwrap();
    assert!(text.contains("crate::transport") && !text.contains("teloxide"));
}
