//! Headless Chromium over `WebDriver`: a `chromedriver` of our own on a free
//! loopback port, one browser session with a private profile and download folder.
//! Both binaries come from Debian's `chromium` and `chromium-driver` packages (or
//! `CHROMEDRIVER` / `CHROME_BIN`); a missing one fails the test with what to
//! install, never skips it.

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the browser may take to do what a test waits for.
pub const WAIT: Duration = Duration::from_mins(1);

const INSTALL: &str = "the browser test needs headless Chromium and its WebDriver: \
     install the Debian packages `chromium` and `chromium-driver` \
     (`apt-get update && apt-get install -y chromium chromium-driver`; `.ci/run` does this), \
     or point CHROME_BIN and CHROMEDRIVER at them";

/// The first of `names` found on `PATH` (or the path in the environment variable `var`).
fn find_binary(var: &str, names: &[&str], extra: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(var).map(PathBuf::from) {
        assert!(
            p.is_file(),
            "{var}={} does not exist; {INSTALL}",
            p.display()
        );
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .chain(extra.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{} not found; {INSTALL}", names[0]))
}

/// A browser session; dropping it ends the browser and its driver.
pub struct Browser {
    /// The `WebDriver` client.
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium window of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Self {
        let driver_bin = find_binary(
            "CHROMEDRIVER",
            &["chromedriver"],
            &["/usr/lib/chromium/chromedriver"],
        );
        let chrome = find_binary(
            "CHROME_BIN",
            &["chromium", "chromium-browser", "google-chrome"],
            &["/usr/lib/chromium/chromium"],
        );
        let profile = tempfile::Builder::new()
            .prefix("chrome")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("browser profile dir");
        let mut driver = Command::new(&driver_bin)
            .arg("--port=0")
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL}", driver_bin.display()));
        let port = driver_port(&mut driver);
        let caps = capabilities(&chrome, profile.path(), width, height);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start {}: {e}; {INSTALL}",
                    chrome.display()
                )
            });
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Where the browser saves downloads.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("downloads")
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns something other than `null`/`false`; returns it.
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(script, Vec::new()).await;
            if !v.is_null() && v != Value::Bool(false) {
                return v;
            }
            if start.elapsed() > WAIT {
                let log = self
                    .js(
                        "return Array.from(document.querySelectorAll('.msg')).map(m => m.className + ': ' + m.textContent);",
                        Vec::new(),
                    )
                    .await;
                panic!("timed out waiting for {what}; the page shows {log:#}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver and the browser it started share the driver's process group.
        let group = nix::unistd::Pid::from_raw(self.driver.id().cast_signed());
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
        for (pid, _) in crate::support::daemon::processes_of(self.profile.path()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Reads the port `chromedriver --port=0` picked from its first lines of output.
fn driver_port(driver: &mut Child) -> u16 {
    let out = driver.stdout.take().expect("driver stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(port) = line
                .split("started successfully on port ")
                .nth(1)
                .and_then(|p| p.trim_end_matches('.').trim().parse::<u16>().ok())
            {
                let _ = tx.send(port);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("chromedriver did not say which port it listens on")
}

fn capabilities(
    chrome: &Path,
    profile: &Path,
    width: u32,
    height: u32,
) -> serde_json::Map<String, Value> {
    let downloads = profile.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chrome,
            "args": [
                "--headless=new",
                // Tests run as root in CI containers, where the sandbox cannot start.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.join("profile").display()),
            ],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            },
        },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}
