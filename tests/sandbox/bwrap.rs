//! The bubblewrap backend, and what every backend shares: a turn, a task and a cron
//! job each run inside; `/stop` ends what ran inside; a bad backend fails closed.

use super::{
    CHAT, SbRig, WAIT, assert_fails_closed, assert_ran_inside, host_pid_ns, proof_command,
};
use crate::support::mock_llm::Reply;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Marker of every task prompt (the suffix ductor appends).
const TASK_MARK: &str = "[ductor background task ";

fn require_bwrap() {
    assert!(
        crate::support::sandbox::bwrap_available(),
        "bubblewrap is missing: run .ci/install-sandbox"
    );
}

async fn bwrap_rig() -> SbRig {
    require_bwrap();
    SbRig::start("claude", json!({"backend": "bwrap"}), &[]).await
}

/// The first file named `name` under `dir`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
        if path.is_dir()
            && let Some(found) = find_file(&path, name)
        {
            return Some(found);
        }
    }
    None
}

/// Waits until `name` appears under the workspace and proves a run outside the
/// host's pid namespace.
pub async fn wait_proof(rig: &SbRig, name: &str) {
    let start = std::time::Instant::now();
    let file = loop {
        if let Some(f) = find_file(&rig.workspace(), name) {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if !text.trim().is_empty() {
                break text;
            }
        }
        assert!(
            start.elapsed() < WAIT,
            "{name} never written\n{}\n{}",
            rig.mock.summary(),
            rig.agent_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(file.starts_with("pid:["), "{file}");
    assert_ne!(
        file.trim(),
        host_pid_ns(),
        "{name}: ran in the host's pid namespace"
    );
}

/// A task whose prompt holds `keyword` runs `cmd` in its shell tool.
pub fn task_runs(rig: &SbRig, keyword: &str, cmd: &str) {
    let cmd = cmd.to_owned();
    rig.mock.script_fn(keyword, move |r| {
        if r.tool_results.is_empty() && r.last_user_text.contains(TASK_MARK) {
            Reply::tool(cmd.clone())
        } else {
            Reply::builtin(r)
        }
    });
}

/// A cron job's run (its prompt names `TASK_DESCRIPTION.md`) runs `cmd`.
pub fn cron_runs(rig: &SbRig, cmd: &str) {
    let cmd = cmd.to_owned();
    rig.mock.script_fn("TASK_DESCRIPTION.md", move |r| {
        if r.tool_results.is_empty() {
            Reply::tool(cmd.clone())
        } else {
            Reply::builtin(r)
        }
    });
}

/// The shared cases: a turn, a task created by the agent's tool, and a cron job
/// all run inside.
pub async fn turn_task_and_cron_run_inside(rig: &SbRig) {
    let answer = rig.tool(&proof_command(rig)).await;
    assert!(answer.contains("The tool ran"), "{answer}");
    assert_ran_inside(rig);

    // The agent's own tool creates the task from inside (the bus is reachable).
    task_runs(
        rig,
        "PROOF_TASK",
        "readlink /proc/self/ns/pid > task-proof.txt",
    );
    let sent = rig.say(r#"MOCK_TOOL_CMD<<ductor task create --name Proof "PROOF_TASK">>"#);
    rig.wait_text(sent.message_id, "created: ").await;
    wait_proof(rig, "task-proof.txt").await;

    cron_runs(rig, "readlink /proc/self/ns/pid > cron-proof.txt");
    let add = rig.home.run(&[
        "cron",
        "--agent",
        "main",
        "add",
        "--name",
        "proofjob",
        "--schedule",
        "0 0 1 1 *",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    // The agent picks the new job up from the file; then it can be run now.
    let start = std::time::Instant::now();
    loop {
        let run = rig
            .home
            .run(&["cron", "--agent", "main", "run", "proofjob"]);
        if run.status.success() {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    wait_proof(rig, "cron-proof.txt").await;
}

/// `/stop` while the tool runs a foreground and a detached sleep: both end, inside
/// and outside.
pub async fn stop_leaves_nothing(rig: &SbRig) {
    let sent = rig.say("MOCK_TOOL_CMD<<setsid sleep 301 & sleep 302>>");
    rig.wait_running("sleep 302").await;
    rig.wait_running("sleep 301").await;
    let stop = rig.say("/stop");
    rig.wait_gone("sleep 30").await;
    // The CLI itself ends cleanly on its signal (claude writes its result first).
    let start = std::time::Instant::now();
    while !crate::support::daemon::cli_processes_of(&rig.home.root).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            crate::support::daemon::cli_processes_of(&rig.home.root)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stop.message_id > sent.message_id);
}

/// A live turn (permission mode `default`): the warm CLI runs inside the sandbox
/// (its command line shows `wrapper`), asks before the tool runs, the allowed tool
/// runs inside, and `/stop` ends the warm process.
pub async fn a_live_turn_asks_and_runs_inside(rig: &SbRig, wrapper: &str) {
    let sent = rig.say(&format!("MOCK_TOOL_CMD<<{}>>", proof_command(rig)));
    let bot = rig.bot;
    let after = sent.message_id;
    let ask = rig
        .tg
        .wait_until(WAIT, move |w| {
            w.visible_messages(bot, CHAT).into_iter().find(|m| {
                m.from_bot == Some(bot)
                    && m.message_id > after
                    && m.callback_data().iter().any(|d| d.starts_with("ak:"))
            })
        })
        .await;
    let warm = rig.procs("--permission-prompt-tool");
    assert!(
        warm.iter()
            .any(|(_, c)| c.contains(wrapper) && c.find(wrapper) < c.find("claude")),
        "the live CLI runs through {wrapper}: {warm:#?}"
    );
    let allow = ask
        .callback_data()
        .into_iter()
        .find(|d| d.starts_with("ak:") && d.ends_with(":o"))
        .expect("an Allow once button");
    rig.tg
        .user_presses_button(rig.bot, CHAT, ask.message_id, &allow);
    rig.wait_text(sent.message_id, "The tool ran").await;
    assert_ran_inside(rig);
    rig.say("/stop");
    rig.wait_gone("--permission-prompt-tool").await;
}

#[tokio::test]
async fn a_live_bwrap_turn_asks_and_runs_inside() {
    require_bwrap();
    let rig = SbRig::start_with("claude", json!({"backend": "bwrap"}), &[], |c| {
        c["permission_mode"] = json!("default");
    })
    .await;
    a_live_turn_asks_and_runs_inside(&rig, "bwrap").await;
}

#[tokio::test]
async fn a_bwrap_turn_runs_inside_and_cannot_read_the_config() {
    let rig = bwrap_rig().await;
    turn_task_and_cron_run_inside(&rig).await;
}

#[tokio::test]
async fn stop_during_a_bwrap_run_leaves_no_process() {
    let rig = bwrap_rig().await;
    stop_leaves_nothing(&rig).await;
}

#[tokio::test]
async fn an_unknown_backend_fails_closed() {
    let rig = SbRig::start("claude", json!({"backend": "dokcer"}), &[]).await;
    assert_fails_closed(&rig, "\"dokcer\" is unknown").await;
}
