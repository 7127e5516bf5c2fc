//! A real Synapse homeserver on loopback, for the Matrix transport's end-to-end tests.
//!
//! `Synapse::start().await` installs the pinned Synapse once (`.ci/install-synapse`
//! into `target/synapse-venv`; the script's lock makes concurrent test processes
//! safe), writes a config into a fresh temporary directory and runs the server on a
//! free `127.0.0.1` port with only the client API (plus `/_synapse/admin`) served. It
//! is ready when `GET /_matrix/client/versions` answers. Dropping the value stops the
//! server's process group (SIGTERM, SIGKILL after 3 s) and reaps it; the server is also
//! killed if the thread that started it dies (`PR_SET_PDEATHSIG`), so a test killed by
//! a timeout leaks no homeserver. When a test panics, the directory (config, database,
//! `homeserver.log`, `stderr.log`) is kept and its path printed.
//!
//! The config is written as JSON (`homeserver.yaml` is YAML, a superset): server name
//! `test.local`, sqlite, no federation (`trusted_key_servers: []`,
//! `federation_domain_whitelist: []`), no open registration (users come from
//! [`Synapse::register`], the shared-secret admin API), no presence, no URL previews,
//! no stats, log level WARNING. The ed25519 signing key is generated here (no
//! `--generate-config`, which costs ~1.3 s of Python).
//!
//! Rate limits: [`Synapse::start`] raises every limit in [`RAISED_LIMITS`] to 1000/s,
//! burst 1000. [`Synapse::start_with_default_limits`] raises the same ones except
//! `rc_message`, which keeps Synapse's default (0.2/s, burst 10, what real servers
//! run), for tests of throttling and `M_LIMIT_EXCEEDED` handling.
//!
//! Measured on the project's machine (2 cores): a cold install ~25 s (wheels from the Python package index, a
//! 242 MB venv), the check when it is installed 0.04 s; start to ready ~2.7 s; ~118 MB
//! RSS per server.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server name of every test homeserver (user ids are `@<name>:test.local`).
pub const SERVER_NAME: &str = "test.local";

/// The rate limits (config keys; a dot descends into a section) that
/// [`Synapse::start`] raises to 1000/s, burst 1000, so tests are never throttled.
/// [`Synapse::start_with_default_limits`] raises all of them but `rc_message`.
pub const RAISED_LIMITS: &[&str] = &[
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_3pid_validation",
    "rc_key_requests",
    "rc_media_create",
    "rc_room_creation",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
];

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_mins(1);

/// Runs Synapse's `homeserver` module (as `python -m synapse.app.homeserver -c <cfg>`
/// does) after asking the kernel to kill it when its parent thread dies: the server
/// has its own process group, out of reach of a test runner's group kill.
/// Arguments: the config path, then the pid of the test process.
const BOOT: &str = r#"
import ctypes, os, runpy, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[2]):
    sys.exit("the test process is gone")
sys.argv = ["synapse.app.homeserver", "-c", sys.argv[1]]
runpy.run_module("synapse.app.homeserver", run_name="__main__", alter_sys=True)
"#;

/// A running Synapse; dropping it stops the server.
pub struct Synapse {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    shared_secret: String,
    http: reqwest::Client,
}

impl Synapse {
    /// Starts a homeserver with every rate limit in [`RAISED_LIMITS`] raised.
    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    /// Starts a homeserver that keeps Synapse's default message rate limit
    /// (`rc_message`: 0.2/s, burst 10); the other [`RAISED_LIMITS`] are raised.
    pub async fn start_with_default_limits() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(raise_messages: bool) -> Self {
        let python = python().await;
        let dir = tempfile::Builder::new()
            .prefix("synapse")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp dir for Synapse");
        let shared_secret = random_hex(32);
        std::fs::write(
            dir.path().join("signing.key"),
            format!(
                "ed25519 a_test {}\n",
                STANDARD_NO_PAD.encode(random_bytes())
            ),
        )
        .expect("write the signing key");
        write_json(&dir.path().join("log.yaml"), &log_config(dir.path()));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        // The free port is found by binding and releasing it; another process may take
        // it in between, so a start that fails on the address is retried.
        for attempt in 1.. {
            let port = free_port();
            let config = config(dir.path(), port, &shared_secret, raise_messages);
            write_json(&dir.path().join("homeserver.yaml"), &config);
            let mut child = spawn(python, dir.path());
            match wait_ready(&mut child, &http, port).await {
                Ok(()) => {
                    return Self {
                        child,
                        dir,
                        port,
                        shared_secret,
                        http,
                    };
                }
                Err(why) => {
                    stop(&mut child);
                    let tail = log_tail(dir.path());
                    let in_use = tail.contains("Address already in use");
                    if !in_use || attempt == 3 {
                        let dir = dir.keep();
                        panic!(
                            "Synapse did not start: {why} (kept {}){tail}",
                            dir.display()
                        );
                    }
                }
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// The base URL of the client API: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server name, `test.local` (a method beside [`Synapse::url`], so tests need
    /// not know that it is the same for every server).
    #[allow(clippy::unused_self)]
    pub fn server_name(&self) -> &'static str {
        SERVER_NAME
    }

    /// Pid of the server process (the leader of its process group).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's directory (config, sqlite database, media, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of the server's log and stderr, for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(self.dir())
    }

    /// Registers a user through the shared-secret admin API and returns its full id
    /// (`@<user>:test.local`). Panics when Synapse refuses (e.g. the name is taken).
    pub async fn register(&self, user: &str, password: &str, admin: bool) -> String {
        let path = "/_synapse/admin/v1/register";
        let (status, v) = self.call(Method::GET, path, None, None).await;
        assert_eq!(status, 200, "registration nonce: {v}");
        let nonce = v["nonce"].as_str().expect("nonce in {v}").to_owned();
        let role = if admin { "admin" } else { "notadmin" };
        let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(self.shared_secret.as_bytes())
            .expect("HMAC takes keys of any length");
        Mac::update(
            &mut mac,
            [&nonce, user, password, role].join("\0").as_bytes(),
        );
        let mac = hex(&mac.finalize().into_bytes());
        let body = json!({
            "nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac
        });
        let (status, v) = self.call(Method::POST, path, None, Some(&body)).await;
        assert_eq!(status, 200, "registering {user}: {v}");
        v["user_id"].as_str().expect("user_id").to_owned()
    }

    /// Logs `user` (local part or full id) in with a password and returns the access
    /// token of the new device. Panics when the login is refused.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let body = json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        });
        let (status, v) = self
            .call(Method::POST, "/_matrix/client/v3/login", None, Some(&body))
            .await;
        assert_eq!(status, 200, "login of {user}: {v}");
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    /// One request to the server: `path` is appended to [`Synapse::url`], `token` goes
    /// into `Authorization: Bearer`, `body` is sent as JSON. Returns the status and the
    /// JSON answer (a non-JSON answer comes back as a JSON string).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}{}", self.log_tail()));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        stop(&mut self.child);
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!("Synapse's directory is kept: {}", self.dir().display());
        }
    }
}

/// The venv's Python, after making sure the pinned Synapse is installed (once per
/// test process; the script does nothing when it is there already).
async fn python() -> &'static Path {
    static PYTHON: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    PYTHON
        .get_or_init(|| async {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = tokio::process::Command::new(root.join(".ci/install-synapse"))
                .stdin(Stdio::null())
                .output()
                .await
                .expect("run .ci/install-synapse");
            assert!(
                out.status.success(),
                ".ci/install-synapse failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            root.join("target/synapse-venv/bin/python")
        })
        .await
}

/// Waits until the client API answers; an error says why it never will.
async fn wait_ready(child: &mut Child, http: &reqwest::Client, port: u16) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{port}/_matrix/client/versions");
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited ({status})"));
        }
        let answer = http.get(&url).timeout(Duration::from_secs(2)).send().await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(format!("no answer from {url} within {START_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops a server's process group: SIGTERM, SIGKILL after a grace of 3 s; reaps it.
fn stop(child: &mut Child) {
    use nix::sys::signal::{Signal, killpg};
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = killpg(group, Signal::SIGTERM);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
}

/// The last 40 lines of the server's log and of its stderr.
fn log_tail(dir: &Path) -> String {
    let mut out = String::new();
    for name in ["homeserver.log", "stderr.log"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        let _ = write!(out, "\n--- {name} (last 40 lines) ---\n{tail}");
    }
    out
}

fn spawn(python: &Path, dir: &Path) -> Child {
    let out = std::fs::File::create(dir.join("stderr.log")).expect("create stderr.log");
    let err = out.try_clone().expect("clone stderr.log");
    Command::new(python)
        .arg("-c")
        .arg(BOOT)
        .arg(dir.join("homeserver.yaml"))
        .arg(std::process::id().to_string())
        .current_dir(dir)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .expect("spawn Synapse")
}

/// The homeserver config (JSON is valid YAML).
fn config(dir: &Path, port: u16, shared_secret: &str, raise_messages: bool) -> Value {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let mut config = json!({
        "server_name": SERVER_NAME,
        "listeners": [{
            "port": port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": false,
            "x_forwarded": false,
            "resources": [{"names": ["client"], "compress": false}],
        }],
        "database": {"name": "sqlite3", "args": {"database": path("homeserver.db")}},
        "log_config": path("log.yaml"),
        "media_store_path": path("media_store"),
        "signing_key_path": path("signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": random_hex(32),
        "form_secret": random_hex(32),
        "report_stats": false,
        "trusted_key_servers": [],
        "suppress_key_server_warning": true,
        "federation_domain_whitelist": [],
        "enable_registration": false,
        "presence": {"enabled": false},
        "url_preview_enabled": false,
        "enable_metrics": false,
    });
    let Value::Object(map) = &mut config else {
        unreachable!("a JSON object literal")
    };
    for key in RAISED_LIMITS {
        if *key == "rc_message" && !raise_messages {
            continue;
        }
        let mut section = &mut *map;
        let mut parts = key.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                section.insert(
                    part.to_owned(),
                    json!({"per_second": 1000, "burst_count": 1000}),
                );
                break;
            }
            let Value::Object(next) = section
                .entry(part)
                .or_insert_with(|| Value::Object(Map::new()))
            else {
                unreachable!("sections are objects")
            };
            section = next;
        }
    }
    config
}

/// Python logging config: WARNING and up into `homeserver.log`.
fn log_config(dir: &Path) -> Value {
    json!({
        "version": 1,
        "formatters": {"precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}},
        "handlers": {"file": {
            "class": "logging.FileHandler",
            "formatter": "precise",
            "filename": dir.join("homeserver.log").to_string_lossy(),
            "encoding": "utf8",
        }},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": false,
    })
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).expect("JSON"))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn random_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("random bytes");
    b
}

fn random_hex(n: usize) -> String {
    hex(&random_bytes()[..n.min(32)])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
