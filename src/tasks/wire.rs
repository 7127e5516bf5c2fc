//! The task messages of the bus (`task_create`, `task_resume`, `task_ask_parent`,
//! `task_list`, `task_cancel`, `task_delete`) mapped onto [`TaskHub`] calls, and
//! [`TaskError`] onto typed `error` answers. Converts between the wire types of
//! [`crate::ipc::message`] and the domain types here, at the edge.

use super::{NewTask, Priority, TaskError, TaskHub, status_of};
use crate::address::Address;
use crate::ipc::BusClient;
use crate::ipc::message::{
    Ack, Body, ErrorBody, ErrorCode, TaskCreated, TaskInfo, TaskListResult, TaskPriority, TaskState,
};
use crate::state::tasks::TaskRecord;

impl TaskError {
    /// The bus error code of this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            TaskError::Disabled => ErrorCode::Disabled,
            TaskError::NotFound(_) => ErrorCode::NotFound,
            TaskError::LimitReached { .. } | TaskError::TooDeep { .. } => ErrorCode::LimitReached,
            TaskError::Conflict(_) => ErrorCode::Conflict,
            TaskError::BadRequest(_) => ErrorCode::BadRequest,
            TaskError::Internal(_) => ErrorCode::Internal,
        }
    }
}

fn priority_in(p: TaskPriority) -> Priority {
    match p {
        TaskPriority::Interactive => Priority::Interactive,
        TaskPriority::Background => Priority::Background,
        TaskPriority::Batch => Priority::Batch,
    }
}

fn priority_out(p: Priority) -> TaskPriority {
    match p {
        Priority::Interactive => TaskPriority::Interactive,
        Priority::Background => TaskPriority::Background,
        Priority::Batch => TaskPriority::Batch,
    }
}

fn state_out(s: super::Status) -> TaskState {
    match s {
        super::Status::Running => TaskState::Running,
        super::Status::Waiting => TaskState::Waiting,
        super::Status::Done => TaskState::Done,
        super::Status::Failed => TaskState::Failed,
        super::Status::Cancelled => TaskState::Cancelled,
    }
}

/// A record as a [`TaskInfo`].
pub fn info(r: &TaskRecord) -> TaskInfo {
    TaskInfo {
        task_id: r.task_id.clone(),
        name: r.name.clone(),
        status: state_out(status_of(r)),
        provider: r.provider.clone(),
        model: r.model.clone(),
        priority: priority_out(Priority::parse(&r.priority)),
        transport: r.transport.clone(),
        chat_id: r.chat_id,
        topic_id: r.thread_id,
        created_at: r.created_at,
        elapsed_seconds: r.elapsed_seconds,
        question_count: r.question_count,
        last_question: r.last_question.clone(),
        error: r.error.clone(),
    }
}

/// The answer to one task request.
pub async fn answer(hub: Option<&TaskHub>, body: Body) -> Body {
    let Some(hub) = hub else {
        return error(&TaskError::Disabled);
    };
    let ack = |()| Body::Ack(Ack {});
    let result = match body {
        Body::TaskCreate(c) => hub
            .create(&NewTask {
                name: c.name,
                prompt: c.prompt,
                provider: c.provider,
                model: c.model,
                thinking: c.thinking,
                priority: priority_in(c.priority),
                origin: Some(Address::new(&c.transport, c.chat_id, c.topic_id)),
                parent: c.parent_task,
            })
            .map(|r| {
                Body::TaskCreated(TaskCreated {
                    task_id: r.task_id,
                    name: r.name,
                    provider: r.provider,
                    model: r.model,
                })
            }),
        Body::TaskResume(r) => hub.resume(&r.task_id, &r.prompt).map(|_| ack(())),
        Body::TaskAskParent(q) => hub.ask_parent(&q.task_id, &q.question).map(ack),
        Body::TaskList(_) => Ok(Body::TaskListResult(TaskListResult {
            tasks: hub.list(None).iter().map(info).collect(),
        })),
        Body::TaskCancel(c) => hub.cancel(&c.task_id).await.map(ack),
        Body::TaskDelete(d) => hub.delete(&d.task_id).map(ack),
        other => Err(TaskError::BadRequest(format!(
            "`{}` is not a task request",
            other.type_name()
        ))),
    };
    // When the tool returns, `tasks.json` already says what happened (or the tool is
    // told that it does not).
    if let (Ok(_), Err(e)) = (&result, hub.registry().save().await) {
        return Body::Error(ErrorBody {
            code: ErrorCode::Internal,
            message: format!("done, but the task list could not be saved: {e}"),
        });
    }
    result.unwrap_or_else(|e| error(&e))
}

fn error(e: &TaskError) -> Body {
    Body::Error(ErrorBody {
        code: e.code(),
        message: e.to_string(),
    })
}

/// Answers request `re` in the background (a cancel waits for the run to end, and
/// the agent's bus loop must not wait with it).
pub fn serve(hub: &TaskHub, bus: &BusClient, re: u64, body: Body) {
    let (hub, bus) = (hub.clone(), bus.clone());
    tokio::spawn(async move {
        let reply = answer(Some(&hub), body).await;
        if let Err(e) = bus.reply(re, reply).await {
            tracing::debug!(error = %e, "could not answer a task request");
        }
    });
}
