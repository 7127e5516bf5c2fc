//! Background tasks end to end: the agent's claude runs `ductor task …` in its shell
//! tool, the task runs as its own claude session, and its result, question or
//! cancellation comes back into the chat.

use super::{CHAT, TgRig};
use crate::support::daemon::{agent_pid, processes_of};
use crate::support::fake_telegram::Fault;
use crate::support::mock_llm::Reply;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// Marker of every task prompt (the suffix ductor appends).
const TASK_MARK: &str = "[ductor background task ";

/// The first `Task <8 hex>` in `text`.
fn task_id_in(text: &str) -> Option<String> {
    text.match_indices("Task ").find_map(|(at, _)| {
        let id = text.get(at + 5..at + 13)?;
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            .then(|| id.to_owned())
    })
}

impl TgRig {
    /// Task prompts containing `keyword` make the task's CLI run `cmd` (the parent's
    /// own request, which carries the keyword inside `MOCK_TOOL_CMD<<…>>`, is unchanged).
    fn task_runs(&self, keyword: &str, cmd: &str) {
        let cmd = cmd.to_owned();
        self.mock.script_fn(keyword, move |r| {
            if r.tool_results.is_empty() && r.last_user_text.contains(TASK_MARK) {
                Reply::tool(cmd.clone())
            } else {
                Reply::builtin(r)
            }
        });
    }

    /// The record of `id` in `tasks.json`.
    fn task(&self, id: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.home.root.join("tasks.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v["tasks"]
            .as_array()?
            .iter()
            .find(|t| t["task_id"] == id)
            .cloned()
    }

    /// Waits until task `id` has `status` in `tasks.json`; returns its record.
    async fn wait_status(&self, id: &str, status: &str) -> Value {
        let start = std::time::Instant::now();
        loop {
            let rec = self.task(id);
            if let Some(r) = rec.as_ref().filter(|r| r["status"] == status) {
                return r.clone();
            }
            assert!(
                start.elapsed() < WAIT,
                "task {id} never became {status}: {rec:#?}\n{}",
                self.mock.summary()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the agent's answer to the user's `ductor task create` and returns the id.
    async fn created_task(&self, after: i32) -> String {
        let msgs = self.wait_text(CHAT, after, "created: ", WAIT).await;
        let all: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
        task_id_in(&all).unwrap_or_else(|| panic!("no task id in {all:?}"))
    }

    /// `ductor task <args>` as the main agent's CLI in the private chat would run it.
    fn task_tool(&self, args: &[&str]) -> std::process::Output {
        self.home
            .ductor()
            .env("DUCTOR_AGENT_NAME", "main")
            .env("DUCTOR_CHAT_ID", CHAT.to_string())
            .env_remove("DUCTOR_TASK_ID")
            .arg("task")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run ductor task")
    }

    fn sleeps(&self) -> Vec<(i32, String)> {
        processes_of(&self.home.root)
            .into_iter()
            .filter(|(_, cmd)| cmd.contains("sleep 60"))
            .collect()
    }

    async fn wait_sleeps(&self, present: bool) {
        let start = std::time::Instant::now();
        while self.sleeps().is_empty() == present {
            assert!(
                start.elapsed() < WAIT,
                "sleep 60 present={}: {:?}",
                !present,
                self.sleeps()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates a task whose CLI runs `sleep 60` (through the tool, as the agent
    /// would) and waits until it sleeps; returns its id.
    async fn start_sleeping_task(&self) -> String {
        self.tg.open_private_chat(self.bot, CHAT);
        self.task_runs("SLEEP_TASK", "sleep 60");
        let out = self.task_tool(&["create", "--name", "Long", "SLEEP_TASK"]);
        let out = String::from_utf8_lossy(&out.stdout).into_owned();
        let id = task_id_in(&out).unwrap_or_else(|| panic!("{out}"));
        self.wait_sleeps(true).await;
        id
    }
}

#[tokio::test]
async fn a_task_started_by_the_agent_delivers_its_result_into_the_chat() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let sent = rig.say(r#"MOCK_TOOL_CMD<<ductor task create --name Demo "say hello">>"#);
    let id = rig.created_task(sent.message_id).await;
    // The user sees the completion notice, then the agent's reply to the injected result.
    let msgs = rig
        .wait_text(
            CHAT,
            sent.message_id,
            "You said: \"[BACKGROUND TASK COMPLETED",
            WAIT,
        )
        .await;
    let texts: Vec<String> = msgs.iter().filter_map(|m| m.text.clone()).collect();
    let notice = texts
        .iter()
        .position(|t| t.contains("Task Demo completed (") && t.contains("claude/sonnet)"))
        .unwrap_or_else(|| panic!("no completion notice in {texts:#?}"));
    let reply = texts
        .iter()
        .position(|t| t.contains("[BACKGROUND TASK COMPLETED"))
        .unwrap();
    assert!(notice < reply, "notice first: {texts:#?}");

    let prompts: Vec<String> = rig
        .mock
        .requests()
        .into_iter()
        .map(|r| r.last_user_text)
        .collect();
    let task_prompt = prompts
        .iter()
        .find(|p| p.contains(&format!("{TASK_MARK}{id}]")))
        .expect("the task ran with its suffix");
    assert!(task_prompt.starts_with("say hello"), "{task_prompt}");
    assert!(
        task_prompt.contains("ductor task ask-parent") && task_prompt.contains("TASKMEMORY.md")
    );
    let injected = prompts
        .iter()
        .find(|p| {
            p.starts_with(&format!(
                "[BACKGROUND TASK COMPLETED: task_id={id} name=Demo]"
            ))
        })
        .expect("the result was injected into the chat's session");
    assert!(
        injected.contains("Hello from mock-llm"),
        "the task's answer: {injected}"
    );
    assert!(injected.contains("CONTENT FROM TASKMEMORY.MD"));
    assert!(injected.contains(&format!("ductor task resume {id}")));
    assert!(
        injected.contains("[END TASK RESULT]") && injected.contains("Original task:\nsay hello")
    );

    let rec = rig.wait_status(&id, "done").await;
    assert_eq!(rec["name"], "Demo");
    assert_eq!(rec["original_prompt"], "say hello");
    assert_eq!(rec["chat_id"], CHAT);
    assert_eq!(
        (rec["provider"].as_str(), rec["model"].as_str()),
        (Some("claude"), Some("sonnet"))
    );
    assert!(rec["num_turns"].as_u64() >= Some(1));
    assert!(!rec["session_id"].as_str().unwrap_or_default().is_empty());
    assert!(
        rec["result_preview"]
            .as_str()
            .unwrap()
            .contains("Hello from mock-llm")
    );
    let memory = rig
        .home
        .root
        .join(format!("workspace/tasks/{id}/TASKMEMORY.md"));
    assert!(
        std::fs::read_to_string(memory)
            .unwrap()
            .contains("# Task memory: Demo")
    );
}

#[tokio::test]
async fn a_tasks_question_reaches_the_chat_with_its_id_and_the_answer_resumes_it() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.task_runs("ASK_TASK", "ductor task ask-parent \"Which colour?\"");
    let sent = rig.say(r#"MOCK_TOOL_CMD<<ductor task create --name Asker "ASK_TASK">>"#);
    let id = rig.created_task(sent.message_id).await;
    let msgs = rig
        .wait_text(
            CHAT,
            sent.message_id,
            "You said: \"[QUESTION FROM BACKGROUND TASK",
            WAIT,
        )
        .await;
    let all: String = msgs
        .iter()
        .filter_map(|m| m.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains(&format!("Task {id} has a question: Which colour?")),
        "{all}"
    );
    let question = rig
        .mock
        .requests()
        .into_iter()
        .map(|r| r.last_user_text)
        .find(|p| p.starts_with("[QUESTION FROM BACKGROUND TASK"))
        .expect("the question was injected");
    assert!(
        question.starts_with(&format!(
            "[QUESTION FROM BACKGROUND TASK: task_id={id} name=Asker]\nWhich colour?"
        )),
        "{question}"
    );
    assert!(question.contains(&format!("ductor task resume {id} \"<answer>\"")));
    let rec = rig.wait_status(&id, "waiting").await;
    assert_eq!(rec["question_count"], 1);
    assert_eq!(rec["last_question"], "Which colour?");
    let turns = rec["num_turns"].as_u64().unwrap();

    // The parent answers: the task continues in its session and completes.
    let out = rig.task_tool(&["resume", &id, "Blue, please."]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Task {id} continues")));
    rig.wait_text(CHAT, sent.message_id, "Task Asker completed", WAIT)
        .await;
    let rec = rig.wait_status(&id, "done").await;
    assert!(
        rec["num_turns"].as_u64().unwrap() > turns,
        "turns accumulate"
    );
    let resumed = rig
        .mock
        .requests()
        .into_iter()
        .find(|r| r.last_user_text.starts_with("Blue, please."))
        .expect("the answer reached the task");
    assert!(
        resumed
            .last_user_text
            .contains("[Reminder: you are still a background task")
    );
    assert!(resumed.prior_assistant_turns >= 1, "same session");
}

#[tokio::test]
async fn cancelling_from_the_task_list_kills_the_tasks_processes() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    rig.task_runs("SLEEP_TASK", "sleep 60");
    let sent = rig.say(r#"MOCK_TOOL_CMD<<ductor task create --name Sleeper "SLEEP_TASK">>"#);
    let id = rig.created_task(sent.message_id).await;
    rig.wait_sleeps(true).await;

    let list_cmd = rig.say("/tasks");
    let list = rig
        .wait_text(CHAT, list_cmd.message_id, "1 running · 0 waiting", WAIT)
        .await;
    let list = list
        .iter()
        .find(|m| m.contains("Background tasks"))
        .unwrap();
    assert!(
        list.contains("[...] Sleeper · claude/sonnet · running"),
        "{}",
        list.content()
    );
    let data = format!("tsc:cancel:{id}");
    assert!(
        list.callback_data().contains(&data),
        "{:?}",
        list.callback_data()
    );
    rig.tg
        .user_presses_button(rig.bot, CHAT, list.message_id, &data);

    rig.wait_sleeps(false).await;
    rig.wait_status(&id, "cancelled").await;
    rig.wait_text(CHAT, sent.message_id, "Task Sleeper cancelled", WAIT)
        .await;
    // The list was refreshed in place.
    let bot = rig.bot;
    let list_id = list.message_id;
    rig.tg
        .wait_until(WAIT, move |w| {
            w.message(bot, CHAT, list_id).filter(|m| {
                m.contains("[X] Sleeper") && m.contains("0 running · 0 waiting · 1 finished")
            })
        })
        .await;
    // A finished task cannot be cancelled again; it can be deleted.
    let again = rig.task_tool(&["cancel", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already finished (cancelled)"));
    let del = rig.task_tool(&["delete", &id]);
    assert!(del.status.success(), "{del:?}");
    assert!(rig.task(&id).is_none());
    assert!(!rig.home.root.join(format!("workspace/tasks/{id}")).exists());
}

#[tokio::test]
async fn the_parallel_limit_refuses_and_the_agent_is_told() {
    let rig = TgRig::start("claude", "sonnet", |c| {
        c["tasks"] = serde_json::json!({"max_parallel": 1});
    })
    .await;
    rig.task_runs("SLEEP_TASK", "sleep 60");
    let first = rig.task_tool(&["create", "--name", "First", "SLEEP_TASK"]);
    assert!(first.status.success(), "{first:?}");
    let first_out = String::from_utf8_lossy(&first.stdout).into_owned();
    let id = task_id_in(&first_out).unwrap_or_else(|| panic!("{first_out}"));
    rig.wait_sleeps(true).await;

    let sent = rig.say(r#"MOCK_TOOL_CMD<<ductor task create --name Second "say hi">>"#);
    let msgs = rig
        .wait_text(CHAT, sent.message_id, "too many background tasks", WAIT)
        .await;
    let all: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(all.contains("(1 max)"), "{all}");
    let listed = rig.task_tool(&["list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "nothing queued: {listed}");
    // Interactive tasks are not counted.
    let inter = rig.task_tool(&[
        "create",
        "--priority",
        "interactive",
        "--name",
        "Quick",
        "say hi",
    ]);
    assert!(inter.status.success(), "{inter:?}");

    let cancel = rig.task_tool(&["cancel", &id]);
    assert!(cancel.status.success(), "{cancel:?}");
    assert!(String::from_utf8_lossy(&cancel.stdout).contains(&format!("Task {id} cancelled.")));
    assert!(
        rig.sleeps().is_empty(),
        "the run is gone when cancel returns"
    );
    assert_eq!(rig.task(&id).unwrap()["status"], "cancelled");
}

#[tokio::test]
async fn a_restart_marks_a_running_task_failed_and_tells_the_chat() {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let id = rig.start_sleeping_task().await;
    let old = agent_pid(&rig.home.health().await.unwrap(), "main");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    rig.wait_text(CHAT, 0, "ductor restarted while the task was running", WAIT)
        .await;
    let rec = rig.wait_status(&id, "failed").await;
    assert_eq!(rec["error"], "ductor restarted while the task was running");
    assert!(
        !rec["session_id"].as_str().unwrap_or_default().is_empty(),
        "resumable"
    );
    assert!(rig.sleeps().is_empty(), "{:?}", rig.sleeps());
    let new = agent_pid(&rig.home.health().await.unwrap(), "main");
    assert_ne!(old, new);
}

#[tokio::test]
async fn stop_all_cancels_running_tasks() {
    use ductor::ipc::message::{Body, PeerRole, StopAll};
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let id = rig.start_sleeping_task().await;
    let (bus, _inbox) =
        ductor::ipc::BusClient::connect(&rig.home.home().bus_socket(), PeerRole::Client, None)
            .await
            .unwrap();
    let stopped = bus
        .request(None, Body::StopAll(StopAll {}), Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        matches!(&stopped, Body::Stopped(s) if s.count >= 1),
        "{stopped:?}"
    );
    rig.wait_status(&id, "cancelled").await;
    rig.wait_sleeps(false).await;
    rig.wait_text(CHAT, 0, "Task Long cancelled", WAIT).await;
}

/// A result the previous run could not hand over any more (it finished while the agent
/// was stopping) waits in `outbox.json` and arrives after the restart.
#[tokio::test]
async fn a_delivery_left_pending_by_the_previous_run_arrives_after_the_restart() {
    let journal = serde_json::json!({
        "pending": {
            "3": {
                "kind": "notice",
                "key": format!("tg:{CHAT}"),
                "text": "Task `Early` was cancelled."
            },
            "4": {
                "kind": "inject",
                "key": format!("tg:{CHAT}"),
                "notice": "Task `Late` finished.",
                "prompt": "MOCK_ECHO late task result 42"
            }
        }
    });
    let rig = TgRig::start_prepared(
        "claude",
        "sonnet",
        |tg, bot| {
            tg.open_private_chat(bot, CHAT);
            // Flood control on the first sends: waited out, nothing dropped.
            tg.inject_failure("sendMessage", 2, Fault::retry_after(1));
        },
        |home| {
            std::fs::write(home.root.join("outbox.json"), journal.to_string()).unwrap();
        },
    )
    .await;
    let msgs = rig.wait_text(CHAT, 0, "late task result 42", WAIT).await;
    let texts: Vec<String> = msgs.iter().filter_map(|m| m.text.clone()).collect();
    let pos = |needle: &str| texts.iter().position(|t| t.contains(needle));
    assert!(
        pos("Early").is_some() && pos("Early") < pos("Late"),
        "{texts:?}"
    );
    assert!(pos("Late") < pos("late task result 42"), "{texts:?}");
    let throttled = rig
        .tg
        .calls_of("sendMessage")
        .iter()
        .filter(|c| matches!(&c.outcome, crate::support::fake_telegram::Outcome::Err(e) if e.code == 429))
        .count();
    assert_eq!(
        throttled, 2,
        "both injected 429s were served and waited out"
    );
    // Delivered: nothing stays pending (the file is rewritten right after the turn starts).
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(rig.home.root.join("outbox.json")).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["pending"]
            .as_object()
            .is_some_and(serde_json::Map::is_empty)
        {
            break;
        }
        assert!(start.elapsed() < WAIT, "still pending: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A task on another provider than the chat's: it runs on that CLI and its result comes
/// back into the chat's (claude) session.
async fn task_on(provider: &str, model: &str, api_path: &str, thinking: Option<&str>) {
    let rig = TgRig::start("claude", "sonnet", |_| {}).await;
    let thinking_flag = thinking.map_or_else(String::new, |t| format!("--thinking {t} "));
    let sent = rig.say(&format!(
        r#"MOCK_TOOL_CMD<<ductor task create --name Other --provider {provider} --model {model} {thinking_flag}"say hello">>"#
    ));
    let id = rig.created_task(sent.message_id).await;
    let msgs = rig
        .wait_text(
            CHAT,
            sent.message_id,
            "You said: \"[BACKGROUND TASK COMPLETED",
            WAIT,
        )
        .await;
    let texts: Vec<String> = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Task Other completed (")
                && t.contains(&format!("{provider}/{model})"))),
        "{texts:#?}"
    );
    let rec = rig.wait_status(&id, "done").await;
    assert_eq!(rec["provider"], provider);
    let reqs = rig.mock.requests();
    let task_run = reqs
        .iter()
        .find(|r| r.last_user_text.contains(&format!("{TASK_MARK}{id}]")))
        .unwrap_or_else(|| panic!("{}", rig.mock.summary()));
    assert!(
        task_run.path.contains(api_path),
        "ran on {provider}: {}",
        task_run.path
    );
    if let Some(t) = thinking {
        assert_eq!(rec["reasoning_effort"], t);
        assert_eq!(
            task_run.body["reasoning"]["effort"], t,
            "the effort reaches the model API"
        );
    }
    let injected = reqs
        .iter()
        .find(|r| r.last_user_text.starts_with("[BACKGROUND TASK COMPLETED"))
        .expect("the result was injected");
    assert!(
        injected.path.contains("/v1/messages"),
        "into the chat's claude session"
    );
    assert!(injected.last_user_text.contains("Hello from mock-llm"));

    // Cancelling a task of this provider while its tool sleeps leaves no process.
    rig.task_runs("SLEEP_TASK", "sleep 60");
    let out = rig.task_tool(&[
        "create",
        "--name",
        "Long",
        "--provider",
        provider,
        "--model",
        model,
        "SLEEP_TASK",
    ]);
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let long = task_id_in(&out).unwrap_or_else(|| panic!("{out}"));
    rig.wait_sleeps(true).await;
    let cancel = rig.task_tool(&["cancel", &long]);
    assert!(cancel.status.success(), "{cancel:?}");
    rig.wait_sleeps(false).await;
    rig.wait_status(&long, "cancelled").await;
}

#[tokio::test]
async fn a_codex_task_runs_on_codex_and_reports_back() {
    task_on("codex", "gpt-5.5", "/responses", Some("high")).await;
}

#[tokio::test]
async fn a_gemini_task_runs_on_gemini_and_reports_back() {
    task_on("gemini", "gemini-3.8-flash", "streamGenerateContent", None).await;
}

/// A cron job on `provider`, due at the next minute: it runs on the genuine CLI
/// in its task folder and its answer reaches the chat; the run is booked.
async fn a_cron_job_runs_on(provider: &str, model: &str) {
    let rig = TgRig::start_prepared(
        provider,
        model,
        |tg, bot| tg.open_private_chat(bot, CHAT),
        |home| {
            let jobs = serde_json::json!({"jobs": [{
                "id": "digest", "title": "Morning digest", "schedule": "* * * * *",
                "task_folder": "digest", "agent_instruction": "Say hello from the digest job",
                "enabled": true, "chat_id": CHAT, "topic_id": null, "transport": "tg",
                "provider": provider, "model": model
            }]});
            std::fs::write(home.root.join("cron_jobs.json"), jobs.to_string()).unwrap();
            let folder = home.root.join("workspace/cron_tasks/digest");
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("TASK_DESCRIPTION.md"), "# digest\n").unwrap();
        },
    )
    .await;
    let msg = rig.wait_from(rig.bot, CHAT, "Morning digest").await;
    let text = msg.text.clone().unwrap_or_default();
    assert!(text.contains("Hello from mock-llm"), "{text}");
    assert!(text.contains("Say hello from the digest job"), "{text}");
    let path = rig.home.root.join("cron_jobs.json");
    let start = std::time::Instant::now();
    loop {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let job = &v["jobs"][0];
        if job["last_run_status"] == "success" && job["last_delivery_status"] == "ok" {
            assert_eq!(job["title"], "Morning digest", "other keys kept");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cwd_seen = rig
        .mock
        .requests()
        .iter()
        .any(|r| r.last_user_text.contains("digest_MEMORY.md"));
    assert!(cwd_seen, "{}", rig.mock.summary());
}

#[tokio::test]
async fn a_cron_job_runs_on_claude_and_reaches_the_chat() {
    a_cron_job_runs_on("claude", "sonnet").await;
}

#[tokio::test]
async fn a_cron_job_runs_on_codex_and_reaches_the_chat() {
    a_cron_job_runs_on("codex", crate::support::clis::CODEX_MODEL).await;
}

#[tokio::test]
async fn a_cron_job_runs_on_gemini_and_reaches_the_chat() {
    a_cron_job_runs_on("gemini", "gemini-3.8-flash").await;
}

#[tokio::test]
async fn cron_lists_jobs_switches_them_and_runs_one_now() {
    let rig = TgRig::start_prepared(
        "claude",
        "sonnet",
        |tg, bot| tg.open_private_chat(bot, CHAT),
        |home| {
            let jobs = serde_json::json!({"jobs": [
                {"id": "report", "title": "Weekly report", "schedule": "0 9 * * 1",
                 "task_folder": "report", "agent_instruction": "Write the weekly report",
                 "enabled": true, "chat_id": CHAT, "transport": "tg", "timezone": "Europe/Berlin"},
                {"id": "broken", "title": "Broken", "schedule": "0 25 * * *",
                 "task_folder": "broken", "enabled": true}
            ]});
            std::fs::write(home.root.join("cron_jobs.json"), jobs.to_string()).unwrap();
            std::fs::create_dir_all(home.root.join("workspace/cron_tasks/report")).unwrap();
        },
    )
    .await;
    let sent = rig.say("/cron");
    let list = rig
        .wait_text(
            CHAT,
            sent.message_id,
            "Weekly report",
            Duration::from_mins(1),
        )
        .await;
    let msg = list.iter().find(|m| m.contains("Weekly report")).unwrap();
    let text = msg.text.clone().unwrap_or_default();
    assert!(
        text.contains("Europe/Berlin") && text.contains("next Mon"),
        "{text}"
    );
    assert!(
        text.contains("0 25 * * *") && text.contains("⚠"),
        "the broken schedule is shown: {text}"
    );
    let data: Vec<String> = msg
        .buttons()
        .into_iter()
        .flatten()
        .filter_map(|b| b.callback_data)
        .collect();
    assert!(data.contains(&"crn:t:report".to_owned()), "{data:?}");
    // Run now: the job's answer reaches the chat.
    rig.tg
        .user_presses_button(rig.bot, CHAT, msg.message_id, "crn:x:report");
    let done = rig.wait_from(rig.bot, CHAT, "Hello from mock-llm").await;
    assert!(done.contains("⏰ Weekly report"), "{:?}", done.text);
    // `ductor cron run` starts it over the bus; an unknown job is a clear error.
    let cron_run = |job: &str| {
        std::process::Command::new(crate::support::daemon::bin("ductor"))
            .arg("--home")
            .arg(&rig.home.root)
            .args(["cron", "--agent", "main", "run", job])
            .output()
            .unwrap()
    };
    let ran = cron_run("report");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let missing = cron_run("nope");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no cron job `nope`"));
    let bot = rig.bot;
    rig.tg
        .wait_until(Duration::from_mins(1), move |w| {
            let answers = w
                .visible_messages(bot, CHAT)
                .into_iter()
                .filter(|m| m.contains("Hello from mock-llm"))
                .count();
            (answers >= 2).then_some(())
        })
        .await;
    // Switch it off: written to the file.
    rig.tg
        .user_presses_button(rig.bot, CHAT, msg.message_id, "crn:t:report");
    let path = rig.home.root.join("cron_jobs.json");
    let start = std::time::Instant::now();
    loop {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if v["jobs"][0]["enabled"] == false {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
