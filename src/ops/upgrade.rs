//! `/upgrade` and the update offer's buttons (§2.1, §8.8): a fresh version check;
//! the Upgrade button runs the upgrade pipeline ([`crate::upgrade::Upgrader`]) in
//! the background, and once the new version is installed and verified it leaves
//! the upgrade sentinel and asks the supervisor to restart all of ductor; the next
//! start tells this chat "upgraded from X to Y" ([`announcement`]). Updates are run
//! by the main agent only.

use super::{Action, Button, Ctx, Pressed, Reply, Response};
use crate::address::{Address, Destination};
use crate::core::Core;
use crate::i18n::Catalog;
use crate::md;
use crate::session::outbox::Outgoing;
use crate::state::sentinel::UpgradeSentinel;
use crate::upgrade::install::{InstallMode, Plan};
use crate::upgrade::{UpgradeError, Upgrader, Version};
use std::sync::Arc;

/// The offer of `latest`: what is new and the Upgrade / Not now buttons.
pub fn offer(text: &Catalog, latest: &Version) -> Reply {
    let latest_s = latest.to_string();
    let body = text.f(
        "upgrade.available",
        &[
            ("latest", &md::escape(&latest_s)),
            ("version", &md::escape(crate::VERSION)),
        ],
    );
    Reply::text(body).with_buttons(vec![vec![
        Button::new(
            text.f("upgrade.button", &[("latest", &latest_s)]),
            Action::Upgrade(latest_s.clone()),
        ),
        Button::new(text.t("upgrade.dismiss"), Action::UpgradeDismiss),
    ]])
}

/// The pipeline of this agent's installation.
fn upgrader(core: &Core) -> Result<Upgrader, UpgradeError> {
    let url = core.config.get().update_index_url.clone();
    Upgrader::for_this_process(&core.paths.home(), &url, true)
        .map_err(|e| UpgradeError::Local(format!("cannot find the ductor executable: {e}")))
}

/// A fenced code block holding `body`.
fn code_block(body: &str) -> String {
    let mut fence = "```".to_owned();
    while body.contains(&fence) {
        fence.push('`');
    }
    format!("{fence}\n{body}\n{fence}")
}

/// What the chat says about `e` (in its language; details as they are).
fn failure(text: &Catalog, e: &UpgradeError) -> String {
    match e {
        UpgradeError::FromSource(_) => text.t("upgrade.from_source"),
        UpgradeError::Busy => text.t("upgrade.busy"),
        UpgradeError::NeedsRoot(cmd) => {
            text.f("upgrade.needs_root", &[("command", &md::code(cmd))])
        }
        UpgradeError::Check(e) => text.f(
            "upgrade.check_failed",
            &[("error", &md::one_line(&e.to_string()))],
        ),
        UpgradeError::Unchanged { seen, .. } => {
            text.f("upgrade.unchanged", &[("version", &md::escape(seen))])
        }
        UpgradeError::Manual(_) | UpgradeError::Install(_) | UpgradeError::Local(_) => {
            text.f("upgrade.failed", &[("error", &code_block(&e.to_string()))])
        }
    }
}

/// `/upgrade`: a fresh check; the offer when a newer release exists.
pub async fn command(ctx: &Ctx<'_>) -> Response {
    let text = ctx.text();
    let core = ctx.core();
    if !core.paths.is_main() {
        return Response::say(text.t("upgrade.main_only"));
    }
    let up = match upgrader(core) {
        Ok(u) => u,
        Err(e) => return Response::say(failure(text, &e)),
    };
    if let InstallMode::Source { .. } = up.mode().await {
        return Response::say(text.t("upgrade.from_source"));
    }
    match up.check().await {
        Err(e) => {
            tracing::warn!(error = %e, "upgrade: version check failed");
            Response::say(failure(text, &UpgradeError::Check(e)))
        }
        Ok(None) => Response::say(text.f(
            "upgrade.up_to_date",
            &[("version", &md::escape(crate::VERSION))],
        )),
        Ok(Some(latest)) => Response::reply(offer(text, &latest)),
    }
}

/// The offer's buttons.
pub async fn action(ctx: &Ctx<'_>, action: &Action) -> Response {
    let text = ctx.text();
    let annotate = |note: String| Response {
        pressed: Pressed::Annotate(note),
        ..Response::default()
    };
    let Action::Upgrade(version) = action else {
        return Response {
            pressed: Pressed::Settle,
            ..Response::default()
        };
    };
    let core = ctx.ops.core.clone();
    if !core.paths.is_main() {
        return annotate(text.t("upgrade.main_only"));
    }
    // A forged or old button cannot install an older version.
    let Some(target) = Version::parse(version).filter(|v| *v > crate::upgrade::current()) else {
        return annotate(text.t("upgrade.stale"));
    };
    let up = match upgrader(&core) {
        Ok(u) => u,
        Err(e) => return annotate(failure(text, &e)),
    };
    let mode = up.mode().await;
    if let InstallMode::Release { dir } = &mode {
        return Response::say(text.f(
            "upgrade.release",
            &[
                ("dir", &md::code(&dir.display().to_string())),
                ("version", &md::escape(&target.to_string())),
            ],
        ));
    }
    match up.plan(&mode, &target) {
        Plan::Run(_) => {}
        Plan::FromSource(_) => return annotate(text.t("upgrade.from_source")),
        Plan::NeedsRoot(cmd) => return Response::say(failure(text, &UpgradeError::NeedsRoot(cmd))),
        Plan::Manual(m) => return Response::say(failure(text, &UpgradeError::Manual(m))),
    }
    tracing::info!(chat = %ctx.address, to = %target, "upgrade requested from the chat");
    let note = text.f("upgrade.started", &[("version", &target.to_string())]);
    tokio::spawn(run(core, ctx.address.clone(), up, mode, target));
    annotate(note)
}

/// Installs `target`; then the sentinel and the restart of all of ductor, or the
/// failure in the chat.
async fn run(core: Arc<Core>, address: Address, up: Upgrader, mode: InstallMode, target: Version) {
    let text = core.text();
    let say = |markdown: String| {
        let _ = core.outbox.send(Outgoing::Notice {
            to: Destination::from_address(address.clone()),
            text: markdown,
        });
    };
    match up.install(&mode, &target).await {
        Ok(new) => {
            let home = core.paths.home();
            let sentinel = UpgradeSentinel {
                transport: address.transport.clone(),
                chat_id: address.chat_id,
                topic_id: address.topic_id,
                old_version: crate::VERSION.to_owned(),
                new_version: new.to_string(),
                timestamp: crate::session::freshness::format_time(chrono::Utc::now()),
            };
            if let Err(e) = crate::store::write_json(&home.upgrade_sentinel(), &sentinel) {
                tracing::error!(error = %e, "upgrade: cannot write the sentinel");
            }
            say(text.f(
                "upgrade.restarting",
                &[("version", &md::escape(&new.to_string()))],
            ));
            // Give the outbox a moment to post before the supervisor stops us.
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            if let Err(e) = crate::store::write_atomic(&home.restart_marker(), b"1") {
                tracing::error!(error = %e, "upgrade: cannot ask the supervisor to restart");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "upgrade failed");
            say(failure(text, &e));
        }
    }
}

/// The upgrade sentinel's message for a chat of `transport`, consumed then (main
/// agent only): "upgraded from X to Y", or that the new version did not start.
pub fn announcement(core: &Core, transport: &str) -> Option<(Address, Reply)> {
    if !core.paths.is_main() {
        return None;
    }
    let path = core.paths.home().upgrade_sentinel();
    let bytes = std::fs::read(&path).ok()?;
    let sentinel = match serde_json::from_slice::<UpgradeSentinel>(&bytes) {
        Ok(s) if s.transport != transport => return None,
        Ok(s) => s,
        Err(e) => {
            let _ = crate::store::quarantine(&path);
            tracing::warn!(path = %path.display(), error = %e, "unreadable upgrade sentinel set aside");
            return None;
        }
    };
    let _ = std::fs::remove_file(&path);
    let text = core.text();
    let body = if sentinel.new_version == crate::VERSION {
        text.f(
            "upgrade.done",
            &[
                ("from", &md::escape(&sentinel.old_version)),
                ("version", &md::escape(crate::VERSION)),
            ],
        )
    } else {
        text.f(
            "upgrade.not_applied",
            &[
                ("version", &md::escape(&sentinel.new_version)),
                ("running", &md::escape(crate::VERSION)),
            ],
        )
    };
    let address = Address::new(&sentinel.transport, sentinel.chat_id, sentinel.topic_id);
    Some((address, Reply::text(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use crate::core::testing::rig;
    use crate::ops::{Ops, Sender};

    fn ctx(ops: &Ops) -> Ctx<'_> {
        Ctx {
            ops,
            address: Address::new("tg", 7, Some(3)),
            sender: Sender::default(),
            message: Some(crate::address::MessageRef::from(9)),
        }
    }

    #[tokio::test]
    async fn a_source_build_says_so_and_old_or_forged_buttons_install_nothing() {
        let r = rig(AgentConfig::default(), |_| {});
        let ops = Ops::new(r.core.clone());
        let ctx = ctx(&ops);
        // Tests run from target/…/deps inside this checkout.
        let resp = command(&ctx).await;
        let said = resp.reply.unwrap().markdown;
        assert!(said.contains("source checkout"), "{said}");
        for v in ["0.0.1", crate::VERSION, "not-a-version", ""] {
            let resp = action(&ctx, &Action::Upgrade(v.into())).await;
            assert_eq!(
                resp.pressed,
                Pressed::Annotate(r.core.text().t("upgrade.stale")),
                "{v}"
            );
        }
        // A newer version from a source build: refused with the same sentence.
        let resp = action(&ctx, &Action::Upgrade("999.0.0".into())).await;
        let Pressed::Annotate(note) = resp.pressed else {
            panic!("{resp:?}")
        };
        assert!(note.contains("source checkout"), "{note}");
        assert!(!r.core.paths.home().upgrade_sentinel().exists());
        assert!(!r.core.paths.home().restart_marker().exists());
        let dismiss = action(&ctx, &Action::UpgradeDismiss).await;
        assert_eq!(dismiss.pressed, Pressed::Settle);
    }

    #[test]
    fn the_offer_carries_the_version_in_its_button() {
        let en = crate::i18n::catalog("en");
        let reply = offer(en, &Version::parse("2.3.4").unwrap());
        assert!(reply.markdown.contains("2.3.4"), "{}", reply.markdown);
        assert_eq!(reply.buttons[0][0].action, Action::Upgrade("2.3.4".into()));
        assert_eq!(reply.buttons[0][0].label, "Upgrade to 2.3.4");
        assert_eq!(reply.buttons[0][1].action, Action::UpgradeDismiss);
    }

    #[tokio::test]
    async fn the_sentinel_is_told_once_in_its_chat_instead_of_the_startup_notice() {
        let mut r = rig(AgentConfig::default(), |_| {});
        let file = r.core.paths.home().upgrade_sentinel();
        let write = |new: &str, transport: &str| {
            let s = UpgradeSentinel {
                transport: transport.into(),
                chat_id: 7,
                topic_id: Some(3),
                old_version: "0.0.9".into(),
                new_version: new.into(),
                timestamp: String::new(),
            };
            crate::store::write_json(&file, &s).unwrap();
        };
        write(crate::VERSION, "tg");
        let kind = crate::ops::startup::StartKind::Upgrade {
            from: "0.0.9".into(),
        };
        assert_eq!(crate::ops::startup::announce(&r.core, &kind), 0);
        assert!(r.outbox.try_recv().is_err(), "no second notice");
        assert!(
            announcement(&r.core, "mx").is_none(),
            "another transport's chat"
        );
        let (to, reply) = announcement(&r.core, "tg").unwrap();
        assert_eq!(to, Address::new("tg", 7, Some(3)));
        assert_eq!(
            reply.markdown,
            format!(
                "✅ **Upgraded** from 0.0.9 to {}.",
                md::escape(crate::VERSION)
            )
        );
        assert!(!file.exists(), "consumed");
        assert!(announcement(&r.core, "tg").is_none());
        // Without the sentinel the startup notice says it.
        assert_eq!(crate::ops::startup::announce(&r.core, &kind), 1);

        write("999.0.0", "tg");
        let (_, reply) = announcement(&r.core, "tg").unwrap();
        assert!(
            reply.markdown.contains("did not take effect"),
            "{}",
            reply.markdown
        );
        std::fs::write(&file, "{broken").unwrap();
        assert!(announcement(&r.core, "tg").is_none());
        assert!(!file.exists(), "a broken sentinel is set aside");
    }
}
