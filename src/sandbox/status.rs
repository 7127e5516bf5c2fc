//! What `ductor docker status` and `/diagnose` show of the sandbox: the backend,
//! the engine and its version, the image, the container's state and the mounts.

use super::container::{self, Engine};
use crate::config::sandbox::{Backend, SandboxSettings};
use crate::paths::Home;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it is about.
    pub key: &'static str,
    /// Its state.
    pub value: String,
    /// Whether this stops sandboxed runs.
    pub bad: bool,
}

fn line(key: &'static str, value: impl Into<String>, bad: bool) -> Line {
    Line {
        key,
        value: value.into(),
        bad,
    }
}

/// The report for `home` under `settings`.
pub async fn report(home: &Home, settings: &SandboxSettings) -> Vec<Line> {
    let mut out = vec![line(
        "backend",
        match settings.backend {
            Backend::None => "none (CLIs run on the host)".to_owned(),
            ref b => b.name().to_owned(),
        },
        false,
    )];
    if let Some(problem) = settings.problem() {
        out.push(line("problem", problem, true));
        return out;
    }
    match settings.backend {
        Backend::None | Backend::Unknown(_) => return out,
        Backend::Bwrap => out.push(bwrap_line().await),
        Backend::Docker | Backend::Podman => container_lines(home, settings, &mut out).await,
    }
    for (host, target) in super::bwrap::mount_targets(&settings.mounts) {
        let ok = host.is_dir();
        out.push(line(
            "mount",
            format!(
                "{} → {target} ({})",
                host.display(),
                if ok { "ok" } else { "not found" }
            ),
            !ok,
        ));
    }
    if settings.backend != Backend::Bwrap {
        out.push(line("credentials", settings.credentials.join(", "), false));
    }
    out
}

async fn bwrap_line() -> Line {
    let env: Vec<_> = std::env::vars_os().collect();
    let Some(path) = crate::provider::runner::resolve_program("bwrap", &env) else {
        return line("bwrap", "not installed (apt install bubblewrap)", true);
    };
    let version = tokio::process::Command::new(&path)
        .arg("--version")
        .output()
        .await
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    line("bwrap", format!("{} ({version})", path.display()), false)
}

async fn container_lines(home: &Home, settings: &SandboxSettings, out: &mut Vec<Line>) {
    let engine = match Engine::find(&settings.backend) {
        Ok(e) => e,
        Err(e) => {
            out.push(line("engine", e, true));
            return;
        }
    };
    match engine.server_version().await {
        Ok(v) => out.push(line(
            "engine",
            format!("{} {v} ({})", engine.name, engine.program.display()),
            false,
        )),
        Err(e) => {
            out.push(line("engine", e, true));
            return;
        }
    }
    let image = if engine.image_exists(&settings.image).await {
        line("image", format!("{} (present)", settings.image), false)
    } else if settings.auto_build {
        line(
            "image",
            format!("{} (missing; built at the first run)", settings.image),
            false,
        )
    } else {
        line(
            "image",
            format!("{} (missing; run `ductor docker rebuild`)", settings.image),
            true,
        )
    };
    out.push(image);
    let vars: Vec<_> = std::env::vars_os().collect();
    let spec = container::spec(home, settings, &vars);
    let state = engine.state(&settings.container).await;
    let (text, bad) = match (&state, &spec) {
        (Err(e), _) | (_, Err(e)) => (e.clone(), true),
        (Ok(None), _) => ("not created yet (made at the first run)".to_owned(), false),
        (Ok(Some(st)), Ok(spec)) if st.home != spec.home => (
            format!("belongs to another ductor home ({})", st.home),
            true,
        ),
        (Ok(Some(st)), Ok(spec)) if st.spec != spec.hash() => (
            "settings changed; made again at the next run".to_owned(),
            false,
        ),
        (Ok(Some(st)), _) if st.running => ("running".to_owned(), false),
        (Ok(Some(_)), _) => ("stopped; started again at the next run".to_owned(), false),
    };
    out.push(line(
        "container",
        format!("{}: {text}", settings.container),
        bad,
    ));
    if !settings.network.is_empty() {
        out.push(line("network", settings.network.clone(), false));
    }
}

/// The report as text, one `key: value` per line.
pub fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| format!("{}{}: {}", if l.bad { "✗ " } else { "" }, l.key, l.value))
        .collect::<Vec<_>>()
        .join("\n")
}
