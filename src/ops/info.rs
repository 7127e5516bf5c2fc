//! Informational and maintenance commands: `/memory`, `/info`, `/diagnose`,
//! `/restart`.

use super::{Button, Ctx, Reply, Response};
use crate::ipc::message::{AgentHealth, HealthReport};
use crate::md;
use crate::provider::ProviderKind;
use crate::session::store::default_target;
use crate::state::sentinel::RestartSentinel;
use std::fmt::Write as _;

/// Lines of the agent log `/diagnose` shows.
pub const DIAGNOSE_LOG_LINES: usize = 50;
/// Characters of log `/diagnose` shows at most (a Telegram message holds 4096).
const DIAGNOSE_LOG_CHARS: usize = 2800;
/// How long each live check of `/diagnose` (a token, a homeserver, a CLI's
/// `--version`, the bus) may take.
const DIAGNOSE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);
/// Bytes of memory `/memory` shows at most.
const MEMORY_SHOWN: usize = 3500;
/// Warnings and errors of the log `/diagnose` lists at most.
const DIAGNOSE_PROBLEMS: usize = 10;
/// Characters of warnings and errors `/diagnose` shows at most (each line is cut to
/// [`DIAGNOSE_PROBLEM_LINE`]).
const DIAGNOSE_PROBLEM_CHARS: usize = 1500;
/// Characters of one warning or error line `/diagnose` shows at most.
const DIAGNOSE_PROBLEM_LINE: usize = 300;
/// The project's page (`homepage` of Cargo.toml): `/info`'s first link.
const PROJECT_URL: &str = env!("CARGO_PKG_HOMEPAGE");
/// The source repository (`repository` of Cargo.toml; empty: no button).
const SOURCE_URL: &str = env!("CARGO_PKG_REPOSITORY");
/// Every release with its date (the crates.io page's version list).
const RELEASES_URL: &str = concat!(env!("CARGO_PKG_HOMEPAGE"), "/versions");

/// `/memory`: the agent's `MAINMEMORY.md` (it is Markdown: shown as such).
pub fn memory(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let path = ctx.core().paths.main_memory();
    let body = std::fs::read_to_string(&path).unwrap_or_default();
    let title = text.f(
        "memory.title",
        &[("path", &md::escape(&path.display().to_string()))],
    );
    let content = if body.trim().is_empty() {
        md::escape(&text.t("memory.empty"))
    } else {
        let mut shown = crate::util::truncate_bytes(body.trim(), MEMORY_SHOWN).to_owned();
        if shown.len() < body.trim().len() {
            shown.push_str("\n…");
        }
        shown
    };
    Response::say(format!("{title}\n\n{content}\n\n{}", text.t("memory.tip")))
}

/// How long this agent's process has run, in seconds.
fn own_uptime() -> Option<u64> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = Pid::from_u32(std::process::id());
    let mut sys = System::new().ok()?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing(),
    );
    sys.process(pid).map(sysinfo::Process::run_time)
}

/// One agent's line: glyph, name, state, uptime, restarts.
fn agent_line(ctx: &Ctx<'_>, a: &AgentHealth) -> String {
    let text = ctx.text();
    let (glyph, state) = super::agents::glyph_and_state(a.status);
    let restarts = super::agents::restarts(a.restart_count);
    text.f(
        "info.agent",
        &[
            ("glyph", glyph),
            ("name", &md::escape(&a.name)),
            ("state", &text.t(state)),
            (
                "uptime",
                &crate::cli::status::uptime_human(a.uptime_seconds),
            ),
            ("restarts", &restarts),
        ],
    )
}

/// The agents block: every agent's line from the supervisor's health report (with
/// `crashes`, why its last run crashed), or (without a supervisor) a note.
fn agents_block(ctx: &Ctx<'_>, health: Option<&HealthReport>, crashes: bool) -> String {
    let text = ctx.text();
    let mut out = text.t("info.agents");
    match health {
        Some(h) => {
            for a in &h.agents {
                let _ = write!(out, "\n{}", agent_line(ctx, a));
                if let Some(e) = a.last_error.as_deref().filter(|e| crashes && !e.is_empty()) {
                    let short: String = e.chars().take(200).collect();
                    let _ = write!(
                        out,
                        "\n{}",
                        text.f("agents.last_error", &[("error", &md::one_line(&short))])
                    );
                }
            }
        }
        None => {
            let _ = write!(out, "\n{}", text.t("agents.no_bus"));
        }
    }
    out
}

/// `/info`: version, what ductor is, this agent's uptime, the agents and links to
/// the project page, the releases and (when Cargo.toml names one) the source.
pub async fn info(ctx: &Ctx<'_>) -> Response {
    let paths = &ctx.core().paths;
    let text = ctx.text();
    let uptime = own_uptime().map_or_else(|| "?".to_owned(), crate::cli::status::uptime_human);
    let mut out = text.f(
        "info.text",
        &[
            ("version", crate::VERSION),
            ("agent", &md::code(paths.name())),
            ("uptime", &uptime),
            ("home", &md::code(&paths.root().display().to_string())),
        ],
    );
    let health = super::agents::health(ctx).await;
    let _ = write!(out, "\n\n{}", agents_block(ctx, health.as_ref(), false));
    let links: Vec<Button> = [
        ("info.project", PROJECT_URL),
        ("info.releases", RELEASES_URL),
        ("info.source", SOURCE_URL),
    ]
    .into_iter()
    .filter(|(_, url)| url.starts_with("https://"))
    .map(|(label, url)| Button::link(text.t(label), url))
    .collect();
    Response::reply(Reply::text(out).with_buttons(vec![links]))
}

/// The codex model line of `/diagnose`: ductor's cache (its date, size and default
/// model), or what the catalogue holds without one.
fn codex_models(ctx: &Ctx<'_>) -> String {
    let text = ctx.text();
    let core = ctx.core();
    let known = core.catalogue.codex.len();
    let catalogue_default = core
        .catalogue
        .default_model(ProviderKind::Codex)
        .as_deref()
        .unwrap_or("?")
        .to_owned();
    let path = core.paths.codex_models_cache();
    match crate::provider::models::read_codex_cache(&path) {
        Ok(Some(cache)) => {
            let date = chrono::DateTime::parse_from_rfc3339(&cache.last_updated).map_or_else(
                |_| cache.last_updated.clone(),
                |d| {
                    d.with_timezone(&chrono::Utc)
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string()
                },
            );
            let default = cache
                .models
                .iter()
                .find(|m| m.is_default)
                .map_or(catalogue_default, |m| m.id.clone());
            text.f(
                "diagnose.codex_cache",
                &[
                    ("date", &md::escape(&date)),
                    ("count", &cache.models.len().to_string()),
                    ("default", &md::code(&default)),
                ],
            )
        }
        Ok(None) => text.f(
            "diagnose.codex_no_cache",
            &[
                ("count", &known.to_string()),
                ("default", &md::code(&catalogue_default)),
            ],
        ),
        Err(e) => text.f(
            "diagnose.codex_bad_cache",
            &[
                ("error", &md::escape(&e.to_string())),
                ("count", &known.to_string()),
                ("default", &md::code(&catalogue_default)),
            ],
        ),
    }
}

/// Whether a log line is a warning or an error (`[agent=NAME] TIME LEVEL …`).
fn is_problem(line: &str) -> bool {
    line.split_whitespace()
        .take(3)
        .any(|w| w == "WARN" || w == "ERROR")
}

/// The last warnings and errors of this agent's log, oldest first, each line cut,
/// bounded to fit a message, secrets redacted.
fn last_problems(log: &str) -> String {
    let mut lines: Vec<String> = log
        .lines()
        .rev()
        .filter(|l| is_problem(l))
        .take(DIAGNOSE_PROBLEMS)
        .map(|l| {
            // Redacted whole, then cut: a cut could leave a secret too short to be
            // recognised.
            let l = crate::logging::redact(l);
            let mut cut: String = l.chars().take(DIAGNOSE_PROBLEM_LINE).collect();
            if cut.len() < l.len() {
                cut.push('…');
            }
            cut
        })
        .collect();
    lines.reverse();
    let mut total: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    while total > DIAGNOSE_PROBLEM_CHARS && !lines.is_empty() {
        total -= lines[0].chars().count() + 1;
        lines.remove(0);
    }
    lines.join("\n")
}

/// The last `n` lines of the log, bounded to fit a message, secrets redacted.
fn log_tail(log: &str, n: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    let mut lines = all[all.len().saturating_sub(n)..].to_vec();
    let mut total: usize = lines.iter().map(|l| l.len() + 1).sum();
    while total > DIAGNOSE_LOG_CHARS && !lines.is_empty() {
        total -= lines[0].len() + 1;
        lines.remove(0);
    }
    crate::logging::redact(&lines.join("\n"))
}

/// A fenced code block holding `body` whatever it contains.
fn code_block(body: &str) -> String {
    let mut fence = "```".to_owned();
    while body.contains(&fence) {
        fence.push('`');
    }
    format!("{fence}\n{body}\n{fence}")
}

/// `/diagnose`.
pub async fn diagnose(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let core = ctx.core();
    let config = core.config.get();
    let mut out = text.f(
        "diagnose.title",
        &[
            ("version", crate::VERSION),
            ("agent", &md::code(core.paths.name())),
        ],
    );
    let _ = write!(
        out,
        "\n{}",
        text.f(
            "diagnose.configured",
            &[
                ("provider", &md::escape(&config.provider)),
                ("model", &md::code(&config.model))
            ]
        )
    );
    let t = core
        .conversations
        .engine()
        .sessions
        .target(&ctx.address)
        .unwrap_or_else(|| default_target(&config));
    let _ = write!(
        out,
        "\n{}",
        text.f(
            "diagnose.effective",
            &[
                ("provider", t.provider.as_str()),
                ("model", &md::code(&t.model))
            ]
        )
    );
    for (p, s) in crate::provider::auth::for_agent(&core.paths) {
        let _ = write!(out, "\n\\[{p}\\] {}", super::status::auth_state(ctx, s));
    }
    let _ = write!(out, "\n{}", codex_models(ctx));
    let health = super::agents::health(ctx).await;
    let _ = write!(out, "\n\n{}", agents_block(ctx, health.as_ref(), true));
    let sandbox =
        crate::sandbox::status::report(&core.paths.home(), &config.sandbox_settings()).await;
    let _ = write!(
        out,
        "\n\n{}\n{}",
        text.t("diagnose.sandbox"),
        code_block(&crate::sandbox::status::render(&sandbox))
    );
    // Read once for both blocks (the tail and the last problems).
    let log_text = std::fs::read_to_string(core.paths.log_file()).unwrap_or_default();
    let log = log_tail(&log_text, DIAGNOSE_LOG_LINES);
    let _ = write!(
        out,
        "\n\n{}\n{}",
        text.f(
            "diagnose.log",
            &[("count", &DIAGNOSE_LOG_LINES.to_string())]
        ),
        if log.is_empty() {
            code_block(&text.t("diagnose.no_log"))
        } else {
            code_block(&log)
        }
    );
    let problems = last_problems(&log_text);
    let _ = write!(
        out,
        "\n\n{}\n{}",
        text.t("diagnose.problems"),
        if problems.is_empty() {
            code_block(&text.t("diagnose.no_problems"))
        } else {
            code_block(&problems)
        }
    );
    // `ductor doctor`'s checks of the whole home, the live ones bounded (the sandbox
    // is shown above).
    let checks = crate::cli::doctor::report(
        &core.paths.home(),
        crate::cli::doctor::Options {
            timeout: DIAGNOSE_CHECK_TIMEOUT,
            sandbox: false,
        },
    )
    .await;
    let _ = write!(
        out,
        "\n\n{}\n{}",
        text.t("diagnose.checks"),
        code_block(&crate::logging::redact(&crate::cli::doctor::render(
            &checks
        )))
    );
    Response::say(out)
}

/// `/restart`: leave a sentinel so the next start says "restarted" here, then ask the
/// agent to exit with code 42 (the supervisor restarts it at once).
pub fn restart(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let core = ctx.core();
    let sentinel = RestartSentinel {
        transport: ctx.address.transport.clone(),
        chat_id: ctx.address.chat_id,
        topic_id: ctx.address.topic_id,
        message: text.t("restart.done"),
        timestamp: crate::session::freshness::format_time(chrono::Utc::now()),
    };
    if let Err(e) = crate::store::write_json(&core.paths.restart_sentinel(), &sentinel) {
        tracing::error!("{e}");
    }
    tracing::info!(chat = %ctx.address, "restart requested from the chat");
    // The reply goes out first: the transport cancels the token after posting it.
    Response {
        restart: true,
        ..Response::say(md::escape(&text.t("restart.restarting")))
    }
}
