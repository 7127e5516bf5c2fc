//! Embeds the `defaults/` tree (home template, rule files, translations) into the
//! binary as a sorted list of `(relative path, bytes)`, and links the binaries with
//! packed relative relocations where the toolchain and C library support them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, base, out);
        } else if path.is_file() {
            out.push(path.strip_prefix(base).unwrap().to_path_buf());
        }
    }
}

/// Whether `ld` knows `-z pack-relative-relocs` and glibc (≥ 2.36) can load its output.
fn packed_relocations_work() -> bool {
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.contains("linux-gnu") {
        return false;
    }
    let ld = std::process::Command::new("ld").arg("--help").output();
    let ld_ok =
        ld.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("pack-relative-relocs"));
    let glibc = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let version: Vec<u32> = glibc
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    ld_ok && version.as_slice() >= [2, 36].as_slice()
}

fn main() {
    // A position-independent binary is relocated at every start: with packed
    // (RELR) relocations the table the loader reads shrinks from megabytes to
    // kilobytes, and so does every agent's resident memory.
    if packed_relocations_work() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("defaults");
    println!("cargo:rerun-if-changed=defaults");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Files of `defaults/`: (path relative to `defaults/`, content).\npub static DEFAULT_FILES: &[(&str, &[u8])] = &[\n",
    );
    for rel in &files {
        let abs = root.join(rel);
        println!("cargo:rerun-if-changed={}", abs.display());
        writeln!(
            code,
            "    ({:?}, include_bytes!({:?})),",
            rel.to_string_lossy(),
            abs.to_string_lossy()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("defaults.rs");
    std::fs::write(out, code).unwrap();
}
