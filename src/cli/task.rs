//! `ductor task …`: the background-task tool an agent's CLI runs from its shell.
//! It finds the bus from `DUCTOR_ROOT` (or `--home`), its agent from
//! `DUCTOR_AGENT_NAME`, the chat the result goes to from `DUCTOR_CHAT_ID` /
//! `DUCTOR_TOPIC_ID` (none = the agent's primary chat) and, inside a task, the task
//! from `DUCTOR_TASK_ID`. Output is plain text for the agent to read; a refusal is
//! printed to stderr with exit code 1.

use super::caller::within_limit;
use crate::ipc::message::{
    Body, PeerRole, TaskAskParent, TaskCancel, TaskCreate, TaskDelete, TaskInfo, TaskList,
    TaskPriority, TaskResume, TaskState,
};
use crate::ipc::{BusClient, IpcError};
use clap::{Args, Subcommand, ValueEnum};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// `ductor task ...`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Start a background task; prints its id. Its result comes back to this chat.
    Create(CreateArgs),
    /// Continue a task in its session (a follow-up, or the answer to its question).
    Resume {
        /// Task id (8 hex characters).
        task_id: String,
        /// The follow-up.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        prompt: Vec<String>,
    },
    /// Inside a task only: ask the agent that started it a question.
    AskParent {
        /// The question.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        question: Vec<String>,
    },
    /// List this agent's tasks.
    List,
    /// Cancel a running or waiting task (its notes in TASKMEMORY.md are kept).
    Cancel {
        /// Task id.
        task_id: String,
    },
    /// Delete a finished task and its folder.
    Delete {
        /// Task id.
        task_id: String,
    },
}

/// Scheduling class of a new task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    /// Someone waits for it; not counted against `tasks.max_parallel`.
    #[value(help = "Someone waits for it; not counted against tasks.max_parallel")]
    Interactive,
    /// Normal background work.
    Background,
    /// Bulk work.
    Batch,
}

/// `ductor task create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Short name shown to the user.
    #[arg(long)]
    pub name: Option<String>,
    /// Provider to run on (claude, codex, gemini; default: the agent's).
    #[arg(long)]
    pub provider: Option<String>,
    /// Model to run on (default: the agent's).
    #[arg(long)]
    pub model: Option<String>,
    /// Reasoning effort (e.g. low, medium, high; what the model accepts).
    #[arg(long, value_name = "EFFORT")]
    pub thinking: Option<String>,
    /// Scheduling class.
    #[arg(long, value_enum, default_value_t = PriorityArg::Background)]
    pub priority: PriorityArg,
    /// Complete, self-contained instructions (the task sees nothing of this chat).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub prompt: Vec<String>,
}

pub use super::caller::{Caller, caller};

/// Why `ask-parent` refuses outside a task.
const NOT_IN_TASK: &str = "ask-parent only works inside a background task (DUCTOR_TASK_ID is not set); \
                           ask the user directly instead";

fn words(v: &[String]) -> String {
    v.join(" ").trim().to_owned()
}

/// Runs `ductor task <cmd>`; returns the exit code.
pub async fn run(home_flag: Option<&Path>, cmd: TaskCommand) -> i32 {
    match execute(home_flag, cmd).await {
        Ok(out) => {
            println!("{}", out.trim_end());
            0
        }
        Err(e) => {
            eprintln!("ductor task: {e}");
            1
        }
    }
}

async fn execute(home_flag: Option<&Path>, cmd: TaskCommand) -> Result<String, String> {
    if matches!(cmd, TaskCommand::AskParent { .. })
        && std::env::var("DUCTOR_TASK_ID").map_or(true, |v| v.trim().is_empty())
    {
        return Err(NOT_IN_TASK.into());
    }
    let who = caller(home_flag, |k| std::env::var(k).ok())?;
    let (body, wait) = request(&who, cmd)?;
    match &body {
        Body::TaskCreate(c) => within_limit("prompt", &c.prompt)?,
        Body::TaskResume(r) => within_limit("prompt", &r.prompt)?,
        Body::TaskAskParent(q) => within_limit("question", &q.question)?,
        _ => {}
    }
    let (client, _inbox) = BusClient::connect(
        &who.home.bus_socket(),
        PeerRole::Client,
        Some(format!("task-tool:{}", who.agent)),
    )
    .await
    .map_err(|e| format!("cannot reach ductor (is it running?): {e}"))?;
    let sent = body.clone();
    match client.request(Some(&who.agent), body, wait).await {
        Ok(answer) => Ok(render(&sent, answer)),
        Err(IpcError::Remote(_, message)) => Err(message),
        Err(IpcError::Timeout) => Err(format!(
            "agent `{}` did not answer in time; check `ductor task list`",
            who.agent
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The bus request for `cmd` and how long to wait for its answer.
fn request(who: &Caller, cmd: TaskCommand) -> Result<(Body, Duration), String> {
    let short = Duration::from_secs(15);
    Ok(match cmd {
        TaskCommand::Create(a) => (
            Body::TaskCreate(TaskCreate {
                name: a.name,
                prompt: words(&a.prompt),
                provider: a.provider,
                model: a.model,
                thinking: a.thinking,
                priority: match a.priority {
                    PriorityArg::Interactive => TaskPriority::Interactive,
                    PriorityArg::Background => TaskPriority::Background,
                    PriorityArg::Batch => TaskPriority::Batch,
                },
                transport: who.transport.clone(),
                chat_id: who.chat_id,
                topic_id: who.topic_id,
                parent_task: who.task_id.clone(),
            }),
            short,
        ),
        TaskCommand::Resume { task_id, prompt } => (
            Body::TaskResume(TaskResume {
                task_id,
                prompt: words(&prompt),
            }),
            short,
        ),
        TaskCommand::AskParent { question } => {
            let task_id = who.task_id.clone().ok_or(NOT_IN_TASK)?;
            (
                Body::TaskAskParent(TaskAskParent {
                    task_id,
                    question: words(&question),
                }),
                short,
            )
        }
        TaskCommand::List => (Body::TaskList(TaskList {}), short),
        TaskCommand::Cancel { task_id } => (
            Body::TaskCancel(TaskCancel { task_id }),
            Duration::from_secs(40),
        ),
        TaskCommand::Delete { task_id } => (Body::TaskDelete(TaskDelete { task_id }), short),
    })
}

fn state(s: TaskState) -> &'static str {
    match s {
        TaskState::Running => "running",
        TaskState::Waiting => "waiting",
        TaskState::Done => "done",
        TaskState::Failed => "failed",
        TaskState::Cancelled => "cancelled",
    }
}

/// One line (plus details) per task.
pub fn render_list(tasks: &[TaskInfo]) -> String {
    if tasks.is_empty() {
        return "No background tasks.".into();
    }
    let mut out = String::new();
    for t in tasks {
        let _ = writeln!(
            out,
            "{}  {:<9}  {}  ({}/{}, {}s)",
            t.task_id,
            state(t.status),
            t.name,
            t.provider,
            t.model,
            t.elapsed_seconds.round() as u64
        );
        if t.status == TaskState::Waiting && !t.last_question.is_empty() {
            let _ = writeln!(out, "    question: {}", t.last_question);
        }
        if !t.error.is_empty() {
            let _ = writeln!(out, "    error: {}", t.error);
        }
    }
    out
}

/// Plain text for the answer to `sent`.
fn render(sent: &Body, answer: Body) -> String {
    match (sent, answer) {
        (_, Body::TaskCreated(c)) => format!(
            "Task {id} created: \"{name}\" on {provider}/{model}.\n\
             It runs in the background; its result will be delivered to this chat when it \
             finishes. Do not wait for it. Follow it with `ductor task list`; continue it later \
             with `ductor task resume {id} \"…\"`.",
            id = c.task_id,
            name = c.name,
            provider = c.provider,
            model = c.model
        ),
        (_, Body::TaskListResult(l)) => render_list(&l.tasks),
        (Body::TaskResume(r), _) => format!(
            "Task {} continues with your message; its result will be delivered to this chat.",
            r.task_id
        ),
        (Body::TaskAskParent(_), _) => "Question forwarded to the parent agent. Finish your \
             current work (do not wait for the answer); you will be resumed with the answer."
            .into(),
        (Body::TaskCancel(c), _) => format!("Task {} cancelled.", c.task_id),
        (Body::TaskDelete(d), _) => format!("Task {} deleted.", d.task_id),
        (_, other) => format!("unexpected answer `{}`", other.type_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::caller::tests::vars as env;
    use super::*;

    #[test]
    fn ask_parent_needs_a_task() {
        let who = caller(
            None,
            env(&[("DUCTOR_ROOT", "/h"), ("DUCTOR_AGENT_NAME", "m")]),
        )
        .unwrap();
        let cmd = TaskCommand::AskParent {
            question: vec!["why?".into()],
        };
        assert!(request(&who, cmd).unwrap_err().contains("DUCTOR_TASK_ID"));
        let who = Caller {
            task_id: Some("0badcafe".into()),
            ..who
        };
        let cmd = TaskCommand::AskParent {
            question: vec!["why".into(), "not?".into()],
        };
        let (body, _) = request(&who, cmd).unwrap();
        assert_eq!(
            body,
            Body::TaskAskParent(TaskAskParent {
                task_id: "0badcafe".into(),
                question: "why not?".into()
            })
        );
    }

    #[test]
    fn the_list_shows_questions_and_errors() {
        let t = TaskInfo {
            task_id: "0badcafe".into(),
            name: "Demo".into(),
            status: TaskState::Waiting,
            provider: "claude".into(),
            model: "sonnet".into(),
            priority: TaskPriority::Background,
            transport: "tg".into(),
            chat_id: 1,
            topic_id: None,
            created_at: 0.0,
            elapsed_seconds: 12.4,
            question_count: 1,
            last_question: "Which colour?".into(),
            error: String::new(),
        };
        let out = render_list(&[t]);
        assert!(
            out.starts_with("0badcafe  waiting    Demo  (claude/sonnet, 12s)"),
            "{out}"
        );
        assert!(out.contains("question: Which colour?"));
        assert_eq!(render_list(&[]), "No background tasks.");
    }
}
