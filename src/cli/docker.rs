//! `ductor docker …`: the sandbox of the main agent (and of the sub-agents, which
//! inherit it) — reference §2.4, §12. Changes go to the `sandbox` block of the main
//! `config/config.json` under the config's lock; the agents read it at their next
//! run. The original's `docker` block is read as the base, and `disable` switches
//! it off too, so an original config keeps meaning the same.

use crate::config::load::{ConfigError, modify_config_file, object_block};
use crate::config::sandbox::{Backend, SandboxSettings};
use crate::paths::Home;
use crate::sandbox::{container::Engine, image, main_settings, status};
use clap::Subcommand;
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `ductor docker ...`.
#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Build the sandbox image now (output streamed); the container is made again at the next run.
    Rebuild,
    /// Turn the sandbox on for every run (backend docker, podman or bwrap).
    Enable {
        /// The backend.
        #[arg(long, default_value = "docker")]
        backend: String,
    },
    /// Turn the sandbox off (runs happen on the host) and remove the container.
    Disable,
    /// Show the backend, the engine, the image, the container and the mounts.
    Status,
    /// Mount a host directory into the sandbox at `/mnt/<name>`.
    Mount {
        /// The directory.
        path: String,
    },
    /// Remove a mount (by its path or its name).
    Unmount {
        /// The directory, or its name under /mnt.
        path: String,
    },
    /// List the mounts.
    Mounts,
    /// List the optional image layers.
    Extras,
    /// Add an optional image layer (and what it needs); applies at the next rebuild.
    ExtrasAdd {
        /// The extra's id.
        id: String,
    },
    /// Remove an optional image layer; applies at the next rebuild.
    ExtrasRemove {
        /// The extra's id.
        id: String,
    },
}

/// Runs a `ductor docker` command; returns the exit code.
pub async fn run(home: &Home, cmd: DockerCommand) -> i32 {
    let result = match cmd {
        DockerCommand::Rebuild => rebuild(home).await,
        DockerCommand::Enable { backend } => enable(home, &backend),
        DockerCommand::Disable => disable(home).await,
        DockerCommand::Status => return status_cmd(home).await,
        DockerCommand::Mount { path } => mount(home, &path),
        DockerCommand::Unmount { path } => unmount(home, &path),
        DockerCommand::Mounts => main_settings(home).map(|s| mounts_table(&s)),
        DockerCommand::Extras => main_settings(home).map(|s| extras_table(&s)),
        DockerCommand::ExtrasAdd { id } => extras_add(home, &id),
        DockerCommand::ExtrasRemove { id } => extras_remove(home, &id),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            eprintln!("ductor docker: {e}");
            1
        }
    }
}

/// Applies `edit` to the `sandbox` block (its current effective settings given),
/// under the config's lock; `edit` returns whether it changed anything.
fn change(
    home: &Home,
    edit: impl FnOnce(&mut Map<String, Value>, &SandboxSettings) -> Result<bool, String>,
) -> Result<(), String> {
    let file = home.main().config_file();
    let mut out = Ok(());
    modify_config_file(&file, |obj| {
        let docker = obj.get("docker").cloned().unwrap_or(Value::Null);
        let mut block = match object_block(obj, "sandbox", &file) {
            Ok(block) => block.unwrap_or_default(),
            Err(e) => {
                out = Err(e);
                return false;
            }
        };
        let effective = SandboxSettings::from_blocks(&Value::Object(block.clone()), &docker);
        match edit(&mut block, &effective) {
            Ok(true) => {
                obj.insert("sandbox".to_owned(), Value::Object(block));
                true
            }
            Ok(false) => false,
            Err(e) => {
                out = Err(e);
                false
            }
        }
    })
    .map_err(|e: ConfigError| e.to_string())?;
    out
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().cloned().map(Value::String).collect())
}

fn enable(home: &Home, backend: &str) -> Result<String, String> {
    let parsed = Backend::parse(backend);
    if matches!(parsed, Backend::None | Backend::Unknown(_)) {
        return Err(format!(
            "\"{backend}\" is not a sandbox backend (docker, podman or bwrap)"
        ));
    }
    change(home, |block, _| {
        block.insert("backend".into(), Value::String(parsed.name().to_owned()));
        Ok(true)
    })?;
    Ok(format!(
        "Sandbox on: every CLI run of every agent now happens in {}.\n\
         Check it with `ductor docker status`.\n",
        parsed.name()
    ))
}

async fn disable(home: &Home) -> Result<String, String> {
    let removed = crate::sandbox::teardown(home).await.unwrap_or_else(|e| {
        eprintln!("ductor docker: cannot remove the container: {e}");
        None
    });
    change(home, |block, _| {
        block.insert("backend".into(), Value::String("none".into()));
        Ok(true)
    })?;
    let file = home.main().config_file();
    modify_config_file(&file, |obj| match obj.get_mut("docker") {
        Some(Value::Object(d)) if d.get("enabled") == Some(&Value::Bool(true)) => {
            d.insert("enabled".into(), Value::Bool(false));
            true
        }
        _ => false,
    })
    .map_err(|e| e.to_string())?;
    let mut out = String::from("Sandbox off: CLI runs happen on the host again.\n");
    if let Some(name) = removed {
        let _ = writeln!(out, "Removed the container {name}.");
    }
    Ok(out)
}

async fn status_cmd(home: &Home) -> i32 {
    let s = match main_settings(home) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ductor docker: {e}");
            return 1;
        }
    };
    let lines = status::report(home, &s).await;
    println!("{}", status::render(&lines));
    i32::from(lines.iter().any(|l| l.bad))
}

/// A progress line from the engine's build output (`Step 3/12 :` of the classic
/// builder, `#7 [3/12]` of `BuildKit`).
fn progress(line: &str) -> Option<(u32, u32)> {
    let l = line.trim();
    let rest = l
        .strip_prefix("Step ")
        .or_else(|| l.split_once('[').map(|(_, r)| r))?;
    let (n, rest) = rest.split_once('/')?;
    let total: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((n.trim().parse().ok()?, total.parse().ok()?))
}

async fn rebuild(home: &Home) -> Result<String, String> {
    let s = main_settings(home)?;
    if s.backend.engine().is_none() {
        let engine = if s.backend == Backend::Bwrap {
            "bwrap needs no image"
        } else {
            "no engine"
        };
        return Err(format!(
            "the sandbox backend is {} ({engine}); `ductor docker enable` chooses docker or podman",
            s.backend.name()
        ));
    }
    if let Some(p) = s.problem() {
        return Err(p);
    }
    let engine = Engine::find(&s.backend)?;
    engine.server_version().await?;
    if let Some(name) = crate::sandbox::remove_container(&engine, &s, home).await? {
        println!("Removed the container {name} (made again at the next run).");
    }
    println!("Building {} with {} …", s.image, engine.name);
    let started = std::time::Instant::now();
    let mut stdout = std::io::stdout();
    image::build(&engine, &s, home, &mut |line: &str| {
        if let Some((n, total)) = progress(line) {
            let _ = writeln!(stdout, "[{n}/{total}] {}", line.trim());
        } else {
            let _ = writeln!(stdout, "    {line}");
        }
    })
    .await
    .map_err(|e| format!("the build failed: {e}"))?;
    Ok(format!(
        "Built {} in {:.0} s.\n",
        s.image,
        started.elapsed().as_secs_f64()
    ))
}

/// `path` with `~` expanded, resolved, and required to be a directory.
fn resolve_dir(path: &str) -> Result<PathBuf, String> {
    let p = crate::paths::expand_tilde(Path::new(path.trim()));
    let resolved = p
        .canonicalize()
        .map_err(|e| format!("{}: {e}", p.display()))?;
    if !resolved.is_dir() {
        return Err(format!("{} is not a directory", resolved.display()));
    }
    Ok(resolved)
}

fn same_dir(a: &str, b: &Path) -> bool {
    let a = crate::paths::expand_tilde(Path::new(a));
    a == b || a.canonicalize().is_ok_and(|c| c == b)
}

fn mount(home: &Home, path: &str) -> Result<String, String> {
    let dir = resolve_dir(path)?;
    let mut target = String::new();
    change(home, |block, s| {
        let mut mounts = s.mounts.clone();
        if !mounts.iter().any(|m| same_dir(m, &dir)) {
            mounts.push(dir.display().to_string());
        }
        target = crate::sandbox::bwrap::mount_targets(&mounts)
            .into_iter()
            .find(|(h, _)| same_dir(&h.display().to_string(), &dir))
            .map(|(_, t)| t)
            .unwrap_or_default();
        let changed = mounts != s.mounts || !block.contains_key("mounts");
        block.insert("mounts".into(), strings(&mounts));
        Ok(changed)
    })?;
    Ok(format!("{} → {target} (at the next run)\n", dir.display()))
}

fn unmount(home: &Home, path: &str) -> Result<String, String> {
    let wanted = path.trim().trim_end_matches('/');
    let resolved = crate::paths::expand_tilde(Path::new(wanted))
        .canonicalize()
        .ok();
    let mut removed = Vec::new();
    change(home, |block, s| {
        let (gone, kept): (Vec<String>, Vec<String>) = s.mounts.iter().cloned().partition(|m| {
            let host = crate::paths::expand_tilde(Path::new(m));
            m == wanted
                || resolved.as_ref().is_some_and(|r| same_dir(m, r))
                || host.file_name().is_some_and(|n| n == wanted)
                || wanted
                    .strip_prefix("/mnt/")
                    .is_some_and(|n| host.file_name().is_some_and(|f| f == n))
        });
        if gone.is_empty() {
            return Err(format!(
                "no mount matches {wanted} (see `ductor docker mounts`)"
            ));
        }
        removed = gone;
        block.insert("mounts".into(), strings(&kept));
        Ok(true)
    })?;
    Ok(format!(
        "Removed {} (at the next run).\n",
        removed.join(", ")
    ))
}

fn mounts_table(s: &SandboxSettings) -> String {
    let targets = crate::sandbox::bwrap::mount_targets(&s.mounts);
    if targets.is_empty() {
        return "No mounts. Add one with `ductor docker mount <path>`.\n".into();
    }
    let mut out = String::new();
    for (host, target) in targets {
        let state = if host.is_dir() { "ok" } else { "not found" };
        let _ = writeln!(out, "{}  →  {target}  ({state})", host.display());
    }
    out
}

fn extras_table(s: &SandboxSettings) -> String {
    let selected = image::resolve(&s.extras).unwrap_or_default();
    let mut out = String::new();
    let mut category = "";
    for e in image::CATALOGUE {
        if e.category != category {
            category = e.category;
            let _ = writeln!(out, "{category}:");
        }
        let mark = if selected.iter().any(|x| x.id == e.id) {
            "[x]"
        } else {
            "[ ]"
        };
        let _ = writeln!(
            out,
            "  {mark} {:<13} ~{:>4} MB  {}",
            e.id, e.size_mb, e.description
        );
    }
    if let Some(bad) = s.extras.iter().find(|id| image::find(id).is_none()) {
        let _ = writeln!(out, "unknown extra in the config: {bad}");
    }
    out
}

fn extras_add(home: &Home, id: &str) -> Result<String, String> {
    let wanted = image::resolve(&[id.to_owned()])?;
    let mut added = Vec::new();
    change(home, |block, s| {
        let mut extras = s.extras.clone();
        for e in &wanted {
            if !extras.iter().any(|x| x == e.id) {
                extras.push(e.id.to_owned());
                added.push(e.id);
            }
        }
        block.insert("extras".into(), strings(&extras));
        Ok(!added.is_empty())
    })?;
    if added.is_empty() {
        return Ok(format!("{id} is already selected.\n"));
    }
    Ok(format!(
        "Added {}. Run `ductor docker rebuild` to build the image with it.\n",
        added.join(", ")
    ))
}

fn extras_remove(home: &Home, id: &str) -> Result<String, String> {
    let mut warning = String::new();
    change(home, |block, s| {
        if !s.extras.iter().any(|x| x == id) {
            return Err(format!("{id} is not selected"));
        }
        let kept: Vec<String> = s.extras.iter().filter(|x| *x != id).cloned().collect();
        let still = image::dependents(id, &kept);
        if !still.is_empty() {
            warning = format!(
                "Note: {} still need {id}; it stays in the image while they are selected.\n",
                still.join(", ")
            );
        }
        block.insert("extras".into(), strings(&kept));
        Ok(true)
    })?;
    Ok(format!(
        "Removed {id}. Run `ductor docker rebuild` to build the image without it.\n{warning}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("h"));
        std::fs::create_dir_all(home.main().config_dir()).unwrap();
        std::fs::write(
            home.main().config_file(),
            r#"{"docker": {"enabled": true, "mounts": ["/old"], "image_name": "img"}, "model": "x"}"#,
        )
        .unwrap();
        (dir, home)
    }

    fn raw(home: &Home) -> Value {
        serde_json::from_str(&std::fs::read_to_string(home.main().config_file()).unwrap()).unwrap()
    }

    #[test]
    fn mount_and_unmount_write_the_sandbox_block_and_keep_the_rest() {
        let (dir, home) = home();
        let data = dir.path().join("photos");
        std::fs::create_dir_all(&data).unwrap();
        let out = mount(&home, &data.display().to_string()).unwrap();
        assert!(out.contains("→ /mnt/photos"), "{out}");
        let v = raw(&home);
        let real = data.canonicalize().unwrap().display().to_string();
        assert_eq!(v["sandbox"]["mounts"], serde_json::json!(["/old", real]));
        assert_eq!(v["model"], "x");
        assert_eq!(v["docker"]["image_name"], "img");
        mount(&home, &data.display().to_string()).unwrap();
        assert_eq!(
            raw(&home)["sandbox"]["mounts"].as_array().unwrap().len(),
            2,
            "deduplicated"
        );
        assert!(mount(&home, "/no/such/dir").is_err());
        unmount(&home, "photos").unwrap();
        assert_eq!(raw(&home)["sandbox"]["mounts"], serde_json::json!(["/old"]));
        assert!(
            unmount(&home, "nothing")
                .unwrap_err()
                .contains("no mount matches")
        );
    }

    #[test]
    fn enable_and_extras_edit_the_block() {
        let (_dir, home) = home();
        assert!(enable(&home, "dokcer").is_err());
        enable(&home, "bwrap").unwrap();
        assert_eq!(main_settings(&home).unwrap().backend, Backend::Bwrap);
        let out = extras_add(&home, "whisper").unwrap();
        assert!(out.contains("ffmpeg, whisper"), "{out}");
        assert!(extras_add(&home, "nope").is_err());
        let out = extras_remove(&home, "ffmpeg").unwrap();
        assert!(out.contains("whisper still need ffmpeg"), "{out}");
        assert_eq!(
            raw(&home)["sandbox"]["extras"],
            serde_json::json!(["whisper"])
        );
        assert!(extras_table(&main_settings(&home).unwrap()).contains("[x] ffmpeg"));
    }

    #[test]
    fn build_progress_is_read_from_both_builders() {
        assert_eq!(progress("Step 3/12 : RUN apt-get update"), Some((3, 12)));
        assert_eq!(progress("#7 [4/9] RUN npm install -g"), Some((4, 9)));
        assert_eq!(progress("Removing intermediate container"), None);
    }

    #[tokio::test]
    async fn disable_switches_the_original_block_off_too() {
        let (_dir, home) = home();
        assert_eq!(main_settings(&home).unwrap().backend, Backend::Docker);
        let _ = disable(&home).await;
        let v = raw(&home);
        assert_eq!(v["sandbox"]["backend"], "none");
        assert_eq!(v["docker"]["enabled"], false);
        assert_eq!(main_settings(&home).unwrap().backend, Backend::None);
    }
}
