//! The sandbox settings: the `sandbox` block of `config.json` over the original's
//! `docker` block (reference §12), read forgivingly. The original's keys keep
//! working: `docker.enabled: true` alone selects the `docker` backend with
//! `docker.image_name`, `docker.container_name`, `docker.mounts`, … A key of the
//! `sandbox` block wins over the same key of `docker`; `sandbox.backend` wins over
//! `docker.enabled`.
//!
//! An unknown backend name is not "no sandbox": it is [`Backend::Unknown`], and runs
//! refuse to start until the name is fixed (a typo must not run tools on the host).

use serde_json::Value;

/// Default image tag (the original's).
pub const DEFAULT_IMAGE: &str = "ductor-sandbox";
/// Default container name (the original's).
pub const DEFAULT_CONTAINER: &str = "ductor-sandbox";
/// The CLI credential directories mounted into a container by default.
pub const DEFAULT_CREDENTIALS: &[&str] = &["claude", "codex", "gemini"];

/// Where runs happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// On the host (no sandbox).
    None,
    /// In a long-lived Docker container.
    Docker,
    /// In a long-lived podman container.
    Podman,
    /// Under bubblewrap (no daemon, no image).
    Bwrap,
    /// A name ductor does not know: nothing runs until it is fixed.
    Unknown(String),
}

impl Backend {
    /// Parses a backend name (`none`/`off`/`host`, `docker`, `podman`, `bwrap`/`bubblewrap`).
    pub fn parse(name: &str) -> Self {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" | "host" | "disabled" => Self::None,
            "docker" => Self::Docker,
            "podman" => Self::Podman,
            "bwrap" | "bubblewrap" => Self::Bwrap,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The config name.
    pub fn name(&self) -> &str {
        match self {
            Self::None => "none",
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Bwrap => "bwrap",
            Self::Unknown(name) => name,
        }
    }

    /// The engine binary of a container backend.
    pub fn engine(&self) -> Option<&'static str> {
        match self {
            Self::Docker => Some("docker"),
            Self::Podman => Some("podman"),
            _ => None,
        }
    }
}

/// The sandbox settings of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSettings {
    /// `backend`.
    pub backend: Backend,
    /// `image` (`docker.image_name`): the image containers are made from.
    pub image: String,
    /// `container` (`docker.container_name`).
    pub container: String,
    /// `auto_build`: build the image from ductor's Dockerfile when it is missing.
    pub auto_build: bool,
    /// `extras`: ids of optional image layers (see `ductor docker extras`).
    pub extras: Vec<String>,
    /// `mounts`: host directories, mounted read-write at `/mnt/<basename>`.
    pub mounts: Vec<String>,
    /// `published_ports`: `-p` specs of the container.
    pub published_ports: Vec<String>,
    /// `mount_host_cache`: the user's `~/.cache` at the container's `~/.cache`.
    pub mount_host_cache: bool,
    /// `network`: the container's network (`host`, `none`, a network name); empty
    /// leaves the engine's default.
    pub network: String,
    /// `credentials`: which CLIs' credential directories (`claude`, `codex`,
    /// `gemini`) are mounted into the container.
    pub credentials: Vec<String>,
    /// `env`: names of further host environment variables handed to the CLI.
    pub env: Vec<String>,
    /// `dockerfile`: the user's own Dockerfile for the image (default: ductor's).
    pub dockerfile: Option<std::path::PathBuf>,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self::from_blocks(&Value::Null, &Value::Null)
    }
}

fn list(block: &Value, key: &str) -> Option<Vec<String>> {
    block.get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn text(block: &Value, key: &str) -> Option<String> {
    block
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl SandboxSettings {
    /// Reads the `sandbox` block over the legacy `docker` block.
    pub fn from_blocks(sandbox: &Value, docker: &Value) -> Self {
        let pick_text = |new: &str, old: &str, default: &str| {
            text(sandbox, new)
                .or_else(|| text(docker, old))
                .unwrap_or_else(|| default.to_owned())
        };
        let pick_list = |key: &str| {
            list(sandbox, key)
                .or_else(|| list(docker, key))
                .unwrap_or_default()
        };
        let pick_bool = |key: &str, default: bool| {
            sandbox
                .get(key)
                .and_then(Value::as_bool)
                .or_else(|| docker.get(key).and_then(Value::as_bool))
                .unwrap_or(default)
        };
        let backend = match sandbox.get("backend") {
            Some(Value::String(name)) => Backend::parse(name),
            Some(Value::Null) | None
                if docker.get("enabled").and_then(Value::as_bool) == Some(true) =>
            {
                Backend::Docker
            }
            Some(Value::Null) | None => Backend::None,
            Some(other) => Backend::Unknown(other.to_string()),
        };
        Self {
            backend,
            image: pick_text("image", "image_name", DEFAULT_IMAGE),
            container: pick_text("container", "container_name", DEFAULT_CONTAINER),
            auto_build: pick_bool("auto_build", true),
            extras: pick_list("extras"),
            mounts: pick_list("mounts"),
            published_ports: pick_list("published_ports"),
            mount_host_cache: pick_bool("mount_host_cache", false),
            network: text(sandbox, "network").unwrap_or_default(),
            credentials: list(sandbox, "credentials").unwrap_or_else(|| {
                DEFAULT_CREDENTIALS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }),
            env: list(sandbox, "env").unwrap_or_default(),
            dockerfile: text(sandbox, "dockerfile")
                .map(|p| crate::paths::expand_tilde(std::path::Path::new(&p))),
        }
    }

    /// Whether runs leave the host.
    pub fn enabled(&self) -> bool {
        self.backend != Backend::None
    }

    /// What makes these settings unusable, as one sentence (checked before each run).
    pub fn problem(&self) -> Option<String> {
        if let Backend::Unknown(name) = &self.backend {
            return Some(format!(
                "the sandbox backend \"{name}\" is unknown (use docker, podman, bwrap or none)"
            ));
        }
        let bad_name = |s: &str| {
            s.is_empty()
                || s.starts_with('-')
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        };
        if self.backend.engine().is_some() {
            if bad_name(&self.image) {
                return Some(format!(
                    "the sandbox image name \"{}\" is invalid",
                    self.image
                ));
            }
            if bad_name(&self.container) || self.container.contains(['/', ':', '@']) {
                return Some(format!(
                    "the sandbox container name \"{}\" is invalid",
                    self.container
                ));
            }
            if self.network.starts_with('-') {
                return Some(format!(
                    "the sandbox network \"{}\" is invalid",
                    self.network
                ));
            }
            if let Some(p) = self.published_ports.iter().find(|p| p.starts_with('-')) {
                return Some(format!("the published port \"{p}\" is invalid"));
            }
        }
        if let Some(c) = self
            .credentials
            .iter()
            .find(|c| !DEFAULT_CREDENTIALS.contains(&c.as_str()))
        {
            return Some(format!(
                "the credentials entry \"{c}\" is unknown (use claude, codex or gemini)"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_original_docker_block_selects_docker() {
        let s = SandboxSettings::from_blocks(
            &json!({}),
            &json!({"enabled": true, "image_name": "img", "container_name": "box",
                    "mounts": ["/data"], "published_ports": ["8080:80"], "extras": ["ffmpeg"],
                    "mount_host_cache": true, "auto_build": false}),
        );
        assert_eq!(s.backend, Backend::Docker);
        assert_eq!((s.image.as_str(), s.container.as_str()), ("img", "box"));
        assert_eq!(s.mounts, ["/data"]);
        assert_eq!(s.published_ports, ["8080:80"]);
        assert_eq!(s.extras, ["ffmpeg"]);
        assert!(s.mount_host_cache && !s.auto_build);
        assert_eq!(s.credentials, DEFAULT_CREDENTIALS);
        assert_eq!(s.problem(), None);
        let off = SandboxSettings::from_blocks(&Value::Null, &json!({"enabled": false}));
        assert_eq!(off.backend, Backend::None);
        assert!(!off.enabled());
    }

    #[test]
    fn the_sandbox_block_wins_key_by_key() {
        let s = SandboxSettings::from_blocks(
            &json!({"backend": "bwrap", "mounts": ["/x"], "network": "host", "env": ["FOO"]}),
            &json!({"enabled": true, "mounts": ["/old"], "image_name": "legacy"}),
        );
        assert_eq!(s.backend, Backend::Bwrap);
        assert_eq!(s.mounts, ["/x"]);
        assert_eq!(s.image, "legacy");
        assert_eq!(s.network, "host");
        assert_eq!(s.env, ["FOO"]);
        let none =
            SandboxSettings::from_blocks(&json!({"backend": "none"}), &json!({"enabled": true}));
        assert_eq!(
            none.backend,
            Backend::None,
            "an explicit none wins over docker.enabled"
        );
    }

    #[test]
    fn bad_settings_are_one_sentence_and_never_mean_the_host() {
        let typo = SandboxSettings::from_blocks(&json!({"backend": "dokcer"}), &Value::Null);
        assert!(typo.enabled());
        assert!(typo.problem().unwrap().contains("\"dokcer\" is unknown"));
        let flag = SandboxSettings::from_blocks(
            &json!({"backend": "docker", "image": "--privileged"}),
            &Value::Null,
        );
        assert!(flag.problem().unwrap().contains("image name"));
        let net = SandboxSettings::from_blocks(
            &json!({"backend": "podman", "network": "--cap-add=ALL"}),
            &Value::Null,
        );
        assert!(net.problem().unwrap().contains("network"));
        let cred = SandboxSettings::from_blocks(
            &json!({"backend": "docker", "credentials": ["ssh"]}),
            &Value::Null,
        );
        assert!(cred.problem().unwrap().contains("\"ssh\""));
        let ill_typed =
            SandboxSettings::from_blocks(&json!({"backend": 3, "mounts": "x"}), &json!([]));
        assert_eq!(ill_typed.backend, Backend::Unknown("3".into()));
        assert!(ill_typed.mounts.is_empty());
    }
}
