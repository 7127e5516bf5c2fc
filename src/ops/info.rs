//! Informational and maintenance commands: `/memory`, `/info`, `/diagnose`,
//! `/restart`.

use super::{Ctx, Response};
use crate::md;
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

/// `/info`.
pub fn info(ctx: &Ctx<'_>) -> Response {
    let paths = &ctx.core().paths;
    Response::say(ctx.text().f(
        "info.text",
        &[
            ("version", crate::VERSION),
            ("agent", &md::code(paths.name())),
            ("home", &md::code(&paths.root().display().to_string())),
        ],
    ))
}

/// The last `n` lines of this agent's log, bounded to fit a message, secrets redacted.
fn log_tail(ctx: &Ctx<'_>, n: usize) -> String {
    let mut lines = crate::logging::tail(&ctx.core().paths.log_file(), n);
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
    let _ = write!(out, "\ncodex models: {}", core.catalogue.codex.len());
    let sandbox =
        crate::sandbox::status::report(&core.paths.home(), &config.sandbox_settings()).await;
    let _ = write!(
        out,
        "\n\n{}\n{}",
        text.t("diagnose.sandbox"),
        code_block(&crate::sandbox::status::render(&sandbox))
    );
    let log = log_tail(ctx, DIAGNOSE_LOG_LINES);
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
