//! `ductor-agent run-once`: one turn of one provider, printed as normalized events
//! (one JSON object per line, the outcome last). For debugging a CLI set-up and for
//! smoke tests; uses the agent's config, home and workspace like a chat turn.

use crate::address::Address;
use crate::exec::{Launch, Launcher, TimeoutKind};
use crate::paths::Home;
use crate::provider::ProviderKind;
use crate::provider::command::TurnSpec;
use crate::provider::event::Outcome;
use std::io::Write;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Options of `run-once`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunOnceArgs {
    /// Provider (default: the agent's configured provider).
    #[arg(long)]
    pub provider: Option<String>,
    /// Model (default: the configured model when the provider is the configured one).
    #[arg(long)]
    pub model: Option<String>,
    /// Reasoning effort.
    #[arg(long)]
    pub effort: Option<String>,
    /// Session id to resume.
    #[arg(long)]
    pub resume: Option<String>,
    /// Text appended to the system prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// The prompt.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub prompt: Vec<String>,
}

/// Runs the turn; returns the exit code (0 when it completed).
pub async fn run(home: &Home, agent: &str, args: RunOnceArgs) -> i32 {
    let config = match crate::config::load_agent(home, agent) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ductor-agent: {e}");
            return crate::supervisor::policy::EXIT_CONFIG;
        }
    };
    let paths = home.agent(agent);
    if let Err(e) = crate::home::seed_agent_home(&paths) {
        eprintln!(
            "ductor-agent: cannot prepare {}: {e}",
            paths.root().display()
        );
        return 1;
    }
    let provider = match args
        .provider
        .as_deref()
        .unwrap_or(&config.provider)
        .parse::<ProviderKind>()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ductor-agent: {e}");
            return 2;
        }
    };
    let model = args.model.clone().or_else(|| {
        (config.provider.parse::<ProviderKind>().ok() == Some(provider))
            .then(|| config.model.clone())
    });
    let spec = TurnSpec {
        prompt: args.prompt.join(" "),
        model,
        effort: args
            .effort
            .clone()
            .or_else(|| Some(config.reasoning_effort.clone())),
        resume: args.resume.clone(),
        append_system_prompt: args.system.clone(),
    };
    let address = Address::new(crate::address::TELEGRAM, 0, None);
    let job = Launch {
        provider,
        spec,
        cwd: paths.workspace(),
        identity: crate::exec::request::identity(&config, &paths, &address),
        timeout: TimeoutKind::Interactive,
        extra_args: Vec::new(),
        live: None,
    };
    let launcher =
        crate::sandbox::SandboxLauncher::new(paths.clone(), crate::config::LiveConfig::new(config));
    let (tx, mut rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.cancel();
        }
    });
    let run = tokio::spawn(launcher.launch(job, tx, cancel));
    let mut stdout = std::io::stdout();
    while let Some(ev) = rx.recv().await {
        if let Ok(line) = serde_json::to_string(&ev) {
            let _ = writeln!(stdout, "{line}");
        }
    }
    let outcome = run.await.unwrap_or_else(|e| Outcome::Failed {
        kind: crate::provider::event::FailureKind::Crashed,
        detail: e.to_string(),
        session_id: None,
    });
    if let Ok(line) = serde_json::to_string(&outcome) {
        let _ = writeln!(stdout, "{line}");
    }
    i32::from(!matches!(outcome, Outcome::Completed { .. }))
}
