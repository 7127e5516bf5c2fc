//! `cargo package`: the published crate builds from what it ships (`cargo install
//! ductor`), and ships nothing else.

use super::{cargo, files_under, root, run_ok};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// `cargo package --list`: the files of the published crate.
fn package_list() -> BTreeSet<String> {
    run_ok(cargo().args([
        "package",
        "--list",
        "--locked",
        "--offline",
        "--allow-dirty",
    ]))
    .lines()
    .map(str::to_owned)
    .collect()
}

/// `base/rel` with `.` and `..` resolved (no file system access).
fn normalise(base: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The string literals given to `include_str!`/`include_bytes!` in `text`, with the
/// line they are on.
fn include_targets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for mac in ["include_str!(\"", "include_bytes!(\""] {
            for (i, _) in line.match_indices(mac) {
                let rest = &line[i + mac.len()..];
                if let Some(end) = rest.find('"') {
                    out.push((n, rest[..end].to_owned()));
                }
            }
        }
    }
    out
}

/// Where the test-only code of a file starts (clippy's `items_after_test_module`
/// keeps the `#[cfg(test)] mod … {` last), and the files of its `#[cfg(test)] mod x;`.
fn test_code(file: &Path, text: &str) -> (usize, Vec<PathBuf>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut inline_start = lines.len();
    let mut test_files = Vec::new();
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let dir = file.parent().unwrap_or(Path::new(""));
    let mod_dir = if matches!(name, "mod" | "lib" | "main") {
        dir.to_path_buf()
    } else {
        dir.join(name)
    };
    for (n, line) in lines.iter().enumerate() {
        if line.trim() != "#[cfg(test)]" {
            continue;
        }
        let Some(next) = lines[n + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.starts_with("#["))
        else {
            continue;
        };
        let decl = next
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ");
        if let Some(m) = decl.strip_prefix("mod ") {
            if let Some(m) = m.strip_suffix(';') {
                test_files.push(mod_dir.join(format!("{m}.rs")));
                test_files.push(mod_dir.join(m).join("mod.rs"));
            } else if m.ends_with('{') {
                inline_start = inline_start.min(n);
            }
        }
    }
    (inline_start, test_files)
}

/// The files `src/` and `bin/` embed outside test code, relative to the root.
fn embedded_files() -> BTreeSet<String> {
    let sources: Vec<PathBuf> = ["src", "bin"]
        .iter()
        .flat_map(|d| files_under(&root().join(d)))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    let mut test_files = BTreeSet::new();
    let mut texts = Vec::new();
    for file in &sources {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let (start, files) = test_code(file, &text);
        test_files.extend(files);
        texts.push((file, text, start));
    }
    let mut out = BTreeSet::new();
    for (file, text, test_start) in texts {
        if test_files.contains(file.as_path()) {
            continue;
        }
        for (line, target) in include_targets(&text) {
            if line < test_start {
                let path = normalise(file.parent().unwrap(), &target);
                out.insert(path.to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn the_test_code_of_a_file_is_found() {
    let text = "const A: &str = include_str!(\"a.txt\");\n#[cfg(test)]\nmod testing;\n\
                #[cfg(test)]\n#[allow(x)]\nmod tests {\n    include_str!(\"../t.txt\");\n}\n";
    let (start, files) = test_code(Path::new("src/x/y.rs"), text);
    assert_eq!(start, 3);
    assert_eq!(files[0], Path::new("src/x/y/testing.rs"));
    let targets = include_targets(text);
    assert_eq!(
        targets,
        [(0, "a.txt".to_owned()), (6, "../t.txt".to_owned())]
    );
    assert_eq!(
        normalise(Path::new("src/x"), "../../packaging/a"),
        Path::new("packaging/a")
    );
}

#[test]
fn the_package_ships_what_the_build_reads_and_nothing_private() {
    let list = package_list();
    let embedded = embedded_files();
    assert!(
        embedded.contains("packaging/sandbox/Dockerfile")
            && embedded.contains("src/transport/api/web/index.html"),
        "the scan misses known include_str! targets: {embedded:?}"
    );
    let defaults = files_under(&root().join("defaults"));
    assert!(
        defaults.iter().any(|p| p.ends_with("i18n/en.toml")),
        "{defaults:?}"
    );
    let needed = embedded
        .into_iter()
        .chain(defaults.iter().map(|p| p.to_string_lossy().into_owned()))
        .chain(
            [
                "build.rs",
                "bin/ductor.rs",
                "bin/ductor-agent.rs",
                "src/lib.rs",
                "Cargo.lock",
            ]
            .map(String::from),
        );
    let missing: Vec<String> = needed.filter(|f| !list.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "the published crate lacks files its build reads: {missing:?}; add them to `include` in Cargo.toml"
    );
    let private: Vec<&String> = list
        .iter()
        .filter(|f| {
            ["tests/", "benches/", ".ci/", ".config/", "target/", ".git/"]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .collect();
    assert!(private.is_empty(), "the published crate ships {private:?}");
    for f in &list {
        let size = std::fs::metadata(root().join(f)).map_or(0, |m| m.len());
        assert!(
            size < 512 * 1024,
            "{f} is {size} bytes: too big for the crate"
        );
    }
}

#[test]
fn the_published_manifest_has_no_path_dependencies() {
    let target = tempfile::Builder::new()
        .prefix("pkg")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    run_ok(
        cargo()
            .args([
                "package",
                "--no-verify",
                "--locked",
                "--offline",
                "--allow-dirty",
                "--target-dir",
            ])
            .arg(target.path()),
    );
    let name = format!("ductor-{}", env!("CARGO_PKG_VERSION"));
    let krate = target.path().join(format!("package/{name}.crate"));
    let manifest = run_ok(
        std::process::Command::new("tar")
            .arg("-xzOf")
            .arg(&krate)
            .arg(format!("{name}/Cargo.toml")),
    );
    let doc: toml::Table = toml::from_str(&manifest).unwrap();
    let mut tables: Vec<(String, &toml::Table)> = Vec::new();
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(key).and_then(toml::Value::as_table) {
            tables.push((key.to_owned(), t));
        }
    }
    for (cfg, spec) in doc
        .get("target")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
    {
        for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(t) = spec.get(key).and_then(toml::Value::as_table) {
                tables.push((format!("target.{cfg}.{key}"), t));
            }
        }
    }
    assert!(
        tables
            .iter()
            .any(|(k, t)| k == "dependencies" && t.contains_key("tokio")),
        "{manifest}"
    );
    for (key, table) in tables {
        for (dep, spec) in table {
            assert!(
                spec.get("path").is_none() && spec.get("git").is_none(),
                "{key}.{dep} is not from the registry in the published manifest: {spec:?}"
            );
        }
    }
    let files = run_ok(std::process::Command::new("tar").arg("-tzf").arg(&krate));
    assert!(
        files
            .lines()
            .any(|l| l == format!("{name}/packaging/sandbox/Dockerfile")),
        "{files}"
    );
}
