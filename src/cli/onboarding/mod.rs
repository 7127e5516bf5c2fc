//! `ductor onboarding` / `ductor reset` (and `ductor` on an unconfigured home): the
//! set-up wizard. It shows which coding-agent CLIs are ready, asks for the chat
//! transport (a Telegram token checked live with `getMe`, the user id typed or picked
//! up from a `/start`; or a Matrix account), the provider and model, the sandbox and
//! the timezone, then writes `config/config.json` in one atomic step (merged with the
//! defaults and whatever the file already holds) and offers the user service.
//!
//! Every answer also has a flag, and `--yes` takes flags and defaults without asking,
//! so the set-up can be scripted. Nothing is written before the last step: Ctrl-C or
//! the end of input anywhere leaves the home as it was.

mod choices;
pub mod prompt;
mod steps;

use crate::paths::Home;
use prompt::{CancelGuard, LinePrompter, Prompter, TermPrompter, cancelled};
use serde_json::{Map, Value, json};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Answers of the wizard given as flags (`--yes`: the rest from defaults).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OnboardingArgs {
    /// Ask nothing: take every answer from its flag or its default, fail when a
    /// required one (token, user ids) is missing.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Chat transport: telegram or matrix.
    #[arg(long, value_parser = ["telegram", "matrix"])]
    pub transport: Option<String>,
    /// A file whose first line is the Telegram bot token; `-` reads it from standard input.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The Bot API server (for a self-hosted one).
    #[arg(long, value_name = "URL")]
    pub telegram_api_url: Option<String>,
    /// Telegram user ids allowed to use the bot, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub users: Option<Vec<i64>>,
    /// Telegram group ids the bot answers in, comma-separated (negative).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub groups: Option<Vec<i64>>,
    /// Matrix homeserver URL.
    #[arg(long, value_name = "URL")]
    pub matrix_homeserver: Option<String>,
    /// The bot's Matrix user id (`@name:server`).
    #[arg(long, value_name = "ID")]
    pub matrix_user: Option<String>,
    /// A file whose first line is the bot account's Matrix password (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub matrix_password_file: Option<PathBuf>,
    /// Matrix users allowed to use the bot, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub matrix_users: Option<Vec<String>>,
    /// Provider: claude, codex or gemini.
    #[arg(long)]
    pub provider: Option<String>,
    /// Model of that provider.
    #[arg(long)]
    pub model: Option<String>,
    /// Where the CLIs run: none, docker, podman or bwrap.
    #[arg(long)]
    pub sandbox: Option<String>,
    /// IANA timezone for schedules and daily resets (e.g. Europe/Berlin).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Install and start the user service at the end without asking.
    #[arg(long)]
    pub service: bool,
    /// Do not install the user service (and do not ask).
    #[arg(long, conflicts_with = "service")]
    pub no_service: bool,
    /// `reset`: keep sessions, memory and workspace without asking (the default).
    #[arg(long)]
    pub keep_data: bool,
    /// `reset`: delete everything in the home before the new set-up is written.
    #[arg(long, conflicts_with = "keep_data")]
    pub remove_data: bool,
}

/// The chat transport and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportAnswers {
    /// A Telegram bot.
    Telegram {
        /// The bot token (checked with `getMe`).
        token: String,
        /// The Bot API server, when not the default.
        api_url: Option<String>,
        /// Allowed user ids.
        users: Vec<i64>,
        /// Allowed group ids.
        groups: Vec<i64>,
    },
    /// A Matrix account.
    Matrix {
        /// Homeserver URL.
        homeserver: String,
        /// The bot's user id.
        user_id: String,
        /// Its password.
        password: String,
        /// Allowed users.
        users: Vec<String>,
    },
}

/// Everything the wizard settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// Transport and its settings.
    pub transport: TransportAnswers,
    /// Provider name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Sandbox backend (`none`, `docker`, `podman`, `bwrap`).
    pub sandbox: String,
    /// IANA timezone.
    pub timezone: String,
}

/// Writes `answers` into `config/config.json` of the main agent: one atomic write
/// under the file's lock, every other key kept, missing ones from the defaults.
pub fn write_config(home: &Home, answers: &Answers) -> Result<PathBuf, String> {
    let file = home.main().config_file();
    std::fs::create_dir_all(home.root()).map_err(|e| format!("{}: {e}", home.root().display()))?;
    crate::store::ensure_private_dir(home.root())
        .map_err(|e| format!("{}: {e}", home.root().display()))?;
    let mut bad_block = None;
    crate::config::load::modify_config_file(&file, |obj| {
        apply(obj, answers, &file).unwrap_or_else(|e| {
            bad_block = Some(e);
            false
        })
    })
    .map_err(|e| e.to_string())?;
    if let Some(e) = bad_block {
        return Err(e);
    }
    // Merges the remaining defaults in and checks the result the way a start does.
    let loaded = crate::config::load_config_file(&file).map_err(|e| e.to_string())?;
    crate::home::seed_agent_home(&home.main()).map_err(|e| e.to_string())?;
    let missing = loaded.config.missing_keys();
    if missing.is_empty() {
        Ok(file)
    } else {
        Err(format!(
            "{} still lacks {}",
            file.display(),
            missing.join(", ")
        ))
    }
}

/// Puts `answers` into the config object; an error when a block to merge into is
/// not an object (the file is then left as it is).
fn apply(
    obj: &mut Map<String, Value>,
    answers: &Answers,
    file: &std::path::Path,
) -> Result<bool, String> {
    let (name, list) = match &answers.transport {
        TransportAnswers::Telegram {
            token,
            api_url,
            users,
            groups,
        } => {
            obj.insert("telegram_token".into(), json!(token));
            obj.insert("allowed_user_ids".into(), json!(users));
            obj.insert("allowed_group_ids".into(), json!(groups));
            if let Some(url) = api_url {
                obj.insert("telegram_api_url".into(), json!(url));
            }
            ("telegram", json!(["telegram"]))
        }
        TransportAnswers::Matrix {
            homeserver,
            user_id,
            password,
            users,
        } => {
            let mut block =
                crate::config::load::object_block(obj, "matrix", file)?.unwrap_or_default();
            block.insert("homeserver".into(), json!(homeserver));
            block.insert("user_id".into(), json!(user_id));
            block.insert("password".into(), json!(password));
            block.insert("allowed_users".into(), json!(users));
            obj.insert("matrix".into(), Value::Object(block));
            ("matrix", json!(["matrix"]))
        }
    };
    obj.insert("transport".into(), json!(name));
    obj.insert("transports".into(), list);
    obj.insert("provider".into(), json!(answers.provider));
    obj.insert("model".into(), json!(answers.model));
    obj.insert("user_timezone".into(), json!(answers.timezone));
    let mut sandbox = crate::config::load::object_block(obj, "sandbox", file)?.unwrap_or_default();
    sandbox.insert("backend".into(), json!(answers.sandbox));
    obj.insert("sandbox".into(), Value::Object(sandbox));
    Ok(true)
}

/// Whether `ductor` without a command should run the wizard first: the config is
/// missing or lacks what a start needs (a config with errors is left to the start,
/// which names them).
pub fn needed(home: &Home) -> bool {
    match crate::config::load::read_config_file(&home.main().config_file()) {
        Ok(None) => true,
        Ok(Some(loaded)) => !loaded.config.missing_keys().is_empty(),
        Err(_) => false,
    }
}

/// How a wizard run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Config written; whether the service was installed (and so runs ductor now).
    Written {
        /// The user service was installed and started.
        service: bool,
    },
    /// The user gave up; nothing was written.
    Cancelled,
    /// It could not be done (the reason was printed).
    Failed,
}

impl Finished {
    /// Exit code for this ending.
    pub fn exit_code(self) -> i32 {
        match self {
            Finished::Written { .. } => 0,
            Finished::Cancelled => 130,
            Finished::Failed => 1,
        }
    }
}

/// Runs the wizard for `home` (`reset`: stop ductor and offer to remove its data
/// first), prompting on the terminal when there is one.
pub fn run(
    home: &Home,
    args: &OnboardingArgs,
    rt: &tokio::runtime::Runtime,
    reset: bool,
) -> Finished {
    let guard = CancelGuard::install();
    let finished = if std::io::stdin().is_terminal() && !args.yes {
        let mut p = TermPrompter::new();
        run_with(home, args, rt, reset, &mut p, guard)
    } else {
        let stdin = std::io::stdin();
        let mut p = LinePrompter::new(stdin.lock(), std::io::stderr());
        run_with(home, args, rt, reset, &mut p, guard)
    };
    if finished == Finished::Cancelled {
        eprintln!("cancelled: nothing was written");
    }
    finished
}

/// [`run`] with a given prompter.
pub fn run_with(
    home: &Home,
    args: &OnboardingArgs,
    rt: &tokio::runtime::Runtime,
    reset: bool,
    p: &mut dyn Prompter,
    guard: CancelGuard,
) -> Finished {
    let mut wizard = steps::Wizard::new(home, args, rt, p);
    let outcome = (|| {
        let remove = if reset {
            wizard.ask_remove_data()?
        } else {
            false
        };
        let answers = wizard.ask_all()?;
        if !wizard.confirm_write(&answers)? {
            return Ok(None);
        }
        Ok(Some((answers, remove)))
    })();
    let (answers, remove) = match outcome {
        Ok(Some(done)) => done,
        Ok(None) => return Finished::Cancelled,
        Err(steps::Stop::Io(e)) if cancelled(&e) => return Finished::Cancelled,
        Err(steps::Stop::Io(e)) => {
            eprintln!("ductor: cannot ask: {e}");
            return Finished::Failed;
        }
        Err(steps::Stop::Refused(why)) => {
            eprintln!("ductor: {why}");
            return Finished::Failed;
        }
    };
    // From here on the wizard writes: Ctrl-C is no longer "nothing was written".
    drop(guard);
    wizard.stop_running();
    if remove && let Err(e) = wizard.remove_data() {
        eprintln!("ductor: {e}");
        return Finished::Failed;
    }
    match write_config(home, &answers) {
        Ok(file) => wizard.say(&format!("✓ wrote {}", file.display())),
        Err(e) => {
            eprintln!("ductor: the config was not written: {e}");
            return Finished::Failed;
        }
    }
    let service = wizard.offer_service();
    wizard.farewell(service);
    Finished::Written { service }
}
