//! Provider runner end to end: the genuine `claude`, `codex` and `gemini` binaries
//! against the project's mock model API, through `ductor::exec::request` and the
//! per-run reaper, exactly as an agent runs a turn. After every case no process of
//! the run may be left.

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod live_claude;
mod live_codex;
mod live_gemini;

use ductor::address::Address;
use ductor::config::AgentConfig;
use ductor::exec::{Launch, TimeoutKind, request};
use ductor::paths::Home;
use ductor::provider::ProviderKind;
use ductor::provider::command::TurnSpec;
use ductor::provider::event::{Event, Outcome};
use ductor::provider::runner::{self, TimeoutPolicy};
use std::ffi::OsString;
use std::time::Duration;
use support::clis::{self, CliEnv};
use support::daemon::{processes_of, wait_no_processes};
use support::mock_llm::MockLlm;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A mock model API, an offline CLI environment and an agent home in one root.
pub struct Rig {
    /// The mock model API.
    pub mock: MockLlm,
    /// Root of everything of this rig.
    pub root: tempfile::TempDir,
    /// Offline environment of the CLIs.
    pub cli: CliEnv,
    /// The agent home.
    pub home: Home,
    /// The agent config.
    pub config: AgentConfig,
    /// Extra system instructions given to every turn.
    pub append_system_prompt: Option<String>,
}

/// What a turn produced.
pub struct TurnResult {
    /// Events in order.
    pub events: Vec<Event>,
    /// The terminal outcome.
    pub outcome: Outcome,
}

impl TurnResult {
    /// The completed text (panics when the turn failed).
    pub fn text(&self) -> String {
        match &self.outcome {
            Outcome::Completed { text, .. } => text.clone(),
            other @ Outcome::Failed { .. } => panic!(
                "turn did not complete: {other:?}\nevents: {:#?}",
                self.events
            ),
        }
    }
}

/// The model each CLI is run with in these tests.
pub fn model_for(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::Claude => "sonnet",
        ProviderKind::Codex => clis::CODEX_MODEL,
        ProviderKind::Gemini => "gemini-3.8-flash",
    }
}

impl Rig {
    /// A fresh rig named `label`.
    pub async fn new(label: &str) -> Self {
        let mock = MockLlm::start().await;
        let root = clis::test_dir(label);
        let cli = CliEnv::new(root.path(), &mock.base_url());
        let home = Home::new(root.path().join("ductor"));
        ductor::home::seed_agent_home(&home.main()).unwrap();
        let config = AgentConfig::default();
        Self {
            mock,
            root,
            cli,
            home,
            config,
            append_system_prompt: None,
        }
    }

    /// Starts a turn; returns the event receiver, the cancel token and the join handle.
    pub fn start(
        &self,
        provider: ProviderKind,
        prompt: &str,
        resume: Option<String>,
        timeout: Option<TimeoutPolicy>,
    ) -> (
        mpsc::Receiver<Event>,
        CancellationToken,
        tokio::task::JoinHandle<Outcome>,
    ) {
        let paths = self.home.main();
        let spec = TurnSpec {
            prompt: prompt.into(),
            model: Some(model_for(provider).into()),
            effort: None,
            resume,
            append_system_prompt: self.append_system_prompt.clone(),
        };
        let job = Launch {
            provider,
            spec,
            cwd: paths.workspace(),
            identity: request::identity(&self.config, &paths, &Address::new("tg", 42, None)),
            timeout: TimeoutKind::Interactive,
            extra_args: Vec::new(),
            live: None,
        };
        let mut req = request::build_request(&self.config, &paths, &job).unwrap();
        let mut env: std::collections::BTreeMap<OsString, OsString> = req.env.into_iter().collect();
        for (k, v) in self.cli.vars() {
            env.insert(k.into(), v.into());
        }
        req.env = env.into_iter().collect();
        req.reaper = Some(support::daemon::bin("ductor-agent"));
        if let Some(t) = timeout {
            req.timeout = t;
        }
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(runner::run(req, tx, cancel.clone()));
        (rx, cancel, handle)
    }

    /// Runs a turn to its end.
    pub async fn turn(
        &self,
        provider: ProviderKind,
        prompt: &str,
        resume: Option<String>,
    ) -> TurnResult {
        let (mut rx, _cancel, handle) = self.start(provider, prompt, resume, None);
        let mut events = Vec::new();
        let collect = async {
            while let Some(ev) = rx.recv().await {
                events.push(ev);
            }
        };
        tokio::time::timeout(Duration::from_mins(2), collect)
            .await
            .expect("turn finished");
        let outcome = handle.await.unwrap();
        self.assert_clean().await;
        TurnResult { events, outcome }
    }

    /// Starts a turn, waits until `ready` matches an event, cancels, returns the result.
    pub async fn cancel_when(
        &self,
        provider: ProviderKind,
        prompt: &str,
        ready: impl Fn(&Event) -> bool,
        settle: Duration,
    ) -> (TurnResult, Duration) {
        let (mut rx, cancel, handle) = self.start(provider, prompt, None, None);
        let mut events = Vec::new();
        let wait_ready = async {
            while let Some(ev) = rx.recv().await {
                let hit = ready(&ev);
                events.push(ev);
                if hit {
                    return;
                }
            }
            panic!("stream ended before the cancel point: {events:#?}");
        };
        tokio::time::timeout(Duration::from_secs(90), wait_ready)
            .await
            .unwrap_or_else(|_| panic!("cancel point not reached\n{}", self.mock.summary()));
        // The model call is under way: cancel in the middle of its stream.
        self.mock
            .wait_for_requests(1, Duration::from_secs(30))
            .await;
        tokio::time::sleep(settle).await;
        let t = std::time::Instant::now();
        cancel.cancel();
        while let Some(ev) = rx.recv().await {
            events.push(ev);
        }
        let outcome = handle.await.unwrap();
        let took = t.elapsed();
        self.assert_clean().await;
        (TurnResult { events, outcome }, took)
    }

    /// No process of this rig survives the turn.
    pub async fn assert_clean(&self) {
        let left = processes_of(self.root.path());
        if !left.is_empty() {
            wait_no_processes(self.root.path(), Duration::from_secs(2)).await;
        }
    }
}
