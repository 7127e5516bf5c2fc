//! The bus contract: one [`Envelope`] carrying a `type`-tagged [`Body`]. The JSON
//! Schemas and golden examples in `ipc-schema/` are generated from these types
//! (see `tests/ipc_schema.rs`); change them together.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every frame on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope {
    /// Protocol version of the sender ([`super::PROTOCOL_VERSION`]).
    pub v: u32,
    /// Sender-unique request id; answers carry it back in `re`.
    pub id: u64,
    /// Id of the request this frame answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub re: Option<u64>,
    /// Agent the frame is addressed to; the supervisor routes it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Agent that sent a routed frame (set by the supervisor, never trusted from peers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The message.
    #[serde(flatten)]
    pub body: Body,
}

/// All messages, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// First frame of every connection.
    Hello(Hello),
    /// The supervisor accepted the hello.
    Welcome(Welcome),
    /// A request failed, or the connection is refused.
    Error(ErrorBody),
    /// Routed echo request: proves that routing to a named agent works.
    Ping(Ping),
    /// Answer to [`Body::Ping`].
    Pong(Pong),
    /// Asks the supervisor for the health of every agent.
    HealthRequest(HealthRequest),
    /// Health of every agent.
    Health(HealthReport),
    /// A notice broadcast to every agent (shown to its users).
    Notice(Notice),
    /// Stop every running turn, task and session on every agent.
    StopAll(StopAll),
    /// How many runs were stopped.
    Stopped(Stopped),
    /// Asks the receiver to shut down (supervisor → agent, or a client → supervisor).
    Shutdown(Shutdown),
    /// Generic success answer.
    Ack(Ack),
    /// A sub-agent changes keys of its own `agents.json` entry (e.g. after `/model`).
    UpdateAgent(UpdateAgent),
    /// Ask another agent (routed by `to`): synchronous answer, or accepted for later.
    Ask(Ask),
    /// The answer to a synchronous [`Body::Ask`].
    Answer(Answer),
    /// The result of an asynchronous [`Body::Ask`], sent to the asking agent.
    AskResult(AskResult),
    /// The asker of a synchronous [`Body::Ask`] stopped waiting (supervisor → asked agent).
    AskCancel(AskCancel),
    /// New content of `SHAREDMEMORY.md`, pushed by the supervisor to every agent.
    SharedMemory(SharedMemory),
    /// Start, stop or restart an agent process (from the main agent's chat commands).
    AgentControl(AgentControl),
    /// `ductor task create`: start a background task on the addressed agent.
    TaskCreate(TaskCreate),
    /// Answer to [`Body::TaskCreate`]: the new task's id.
    TaskCreated(TaskCreated),
    /// `ductor task resume`: continue a task's session with a follow-up prompt.
    TaskResume(TaskResume),
    /// `ductor task ask-parent`: a running task asks its parent chat a question.
    TaskAskParent(TaskAskParent),
    /// `ductor task list`: the addressed agent's tasks.
    TaskList(TaskList),
    /// Answer to [`Body::TaskList`].
    TaskListResult(TaskListResult),
    /// `ductor task cancel`: stop a running or waiting task.
    TaskCancel(TaskCancel),
    /// `ductor task delete`: remove a finished task and its folder.
    TaskDelete(TaskDelete),
    /// `ductor cron run`: start one of the addressed agent's cron jobs now.
    CronRun(CronRun),
}

impl Body {
    /// Whether this is one of the `task_*` requests an agent serves for its tools.
    pub fn is_task_request(&self) -> bool {
        matches!(
            self,
            Body::TaskCreate(_)
                | Body::TaskResume(_)
                | Body::TaskAskParent(_)
                | Body::TaskList(_)
                | Body::TaskCancel(_)
                | Body::TaskDelete(_)
        )
    }

    /// Whether this is a request about the addressed agent's own automation (its
    /// tasks or cron jobs): a tool may send it only to its own agent.
    pub fn is_own_agent_request(&self) -> bool {
        self.is_task_request() || matches!(self, Body::CronRun(_))
    }

    /// The `type` tag of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            Body::Hello(_) => "hello",
            Body::Welcome(_) => "welcome",
            Body::Error(_) => "error",
            Body::Ping(_) => "ping",
            Body::Pong(_) => "pong",
            Body::HealthRequest(_) => "health_request",
            Body::Health(_) => "health",
            Body::Notice(_) => "notice",
            Body::StopAll(_) => "stop_all",
            Body::Stopped(_) => "stopped",
            Body::Shutdown(_) => "shutdown",
            Body::Ack(_) => "ack",
            Body::UpdateAgent(_) => "update_agent",
            Body::Ask(_) => "ask",
            Body::Answer(_) => "answer",
            Body::AskResult(_) => "ask_result",
            Body::AskCancel(_) => "ask_cancel",
            Body::SharedMemory(_) => "shared_memory",
            Body::AgentControl(_) => "agent_control",
            Body::TaskCreate(_) => "task_create",
            Body::TaskCreated(_) => "task_created",
            Body::TaskResume(_) => "task_resume",
            Body::TaskAskParent(_) => "task_ask_parent",
            Body::TaskList(_) => "task_list",
            Body::TaskListResult(_) => "task_list_result",
            Body::TaskCancel(_) => "task_cancel",
            Body::TaskDelete(_) => "task_delete",
            Body::CronRun(_) => "cron_run",
        }
    }
}

fn default_transport() -> String {
    crate::address::TELEGRAM.to_owned()
}

/// Who is connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerRole {
    /// An agent process started by the supervisor.
    Agent,
    /// A short-lived tool (`ductor status`, `ductor ask`, ...).
    Client,
}

/// `hello`: identifies the peer and its protocol version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hello {
    /// Agent or client.
    pub role: PeerRole,
    /// Agent name (agents) or the tool's caller identity (clients, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Process id of the peer.
    pub pid: u32,
    /// ductor version of the peer.
    pub version: String,
    /// Bus protocol version the peer speaks.
    pub protocol: u32,
    /// Agents: the token the supervisor gave this start of the agent (never logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `welcome`: handshake accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Welcome {
    /// Bus protocol version of the supervisor.
    pub protocol: u32,
    /// ductor version of the supervisor.
    pub version: String,
    /// Process id of the supervisor.
    pub supervisor_pid: u32,
}

/// Machine-readable error kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The peers speak different protocol versions.
    VersionMismatch,
    /// A frame exceeded the size limit.
    FrameTooLarge,
    /// A frame was not a valid message.
    BadRequest,
    /// The first frame was not a `hello`, or the agent is not known.
    NotRegistered,
    /// The addressed agent does not exist or is not running.
    UnknownAgent,
    /// The addressed agent did not answer in time.
    Timeout,
    /// The receiver failed while handling the request.
    Internal,
    /// The named thing (a task, ...) does not exist.
    NotFound,
    /// The request conflicts with the current state (e.g. deleting a running task).
    Conflict,
    /// A limit was reached (e.g. `tasks.max_parallel`); nothing was queued.
    LimitReached,
    /// The feature is switched off in the config (e.g. `tasks.enabled`).
    Disabled,
}

/// `error`: a request failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// What kind of failure.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

/// `ping`: echo `payload` back from the agent named in the envelope's `to`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ping {
    /// Any text; returned unchanged.
    #[serde(default)]
    pub payload: String,
}

/// `pong`: answer of an agent to `ping`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pong {
    /// Name of the answering agent.
    pub agent: String,
    /// Its process id.
    pub pid: u32,
    /// The ping's payload.
    pub payload: String,
}

/// `health_request`: no fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthRequest {}

/// Lifecycle state of an agent process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Spawned, not yet registered on the bus (or waiting for a restart).
    Starting,
    /// Registered and serving.
    Running,
    /// Given up after repeated crashes.
    Crashed,
    /// Stopped on purpose.
    Stopped,
}

/// Health of one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentHealth {
    /// Agent name.
    pub name: String,
    /// Lifecycle state.
    pub status: AgentStatus,
    /// Process id while a process exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Seconds since the current process registered (0 when not running).
    pub uptime_seconds: u64,
    /// Restarts since the supervisor started.
    pub restart_count: u32,
    /// Why the last run ended, if it crashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// `health`: every agent's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthReport {
    /// Process id of the supervisor.
    pub supervisor_pid: u32,
    /// Seconds since the supervisor started.
    pub supervisor_uptime_seconds: u64,
    /// One entry per agent, `main` first.
    pub agents: Vec<AgentHealth>,
}

/// `notice`: text for the users of every agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Notice {
    /// The message (Markdown).
    pub text: String,
}

/// `stop_all`: no fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StopAll {}

/// `stopped`: how many runs a `stop_all` ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stopped {
    /// Runs stopped (summed over all agents when sent by the supervisor).
    pub count: u32,
    /// Agents that answered.
    #[serde(default)]
    pub agents: u32,
}

/// `shutdown`: stop gracefully.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Shutdown {
    /// Why (for the log).
    #[serde(default)]
    pub reason: String,
    /// Start again afterwards (`ductor restart`); only meaningful for the supervisor.
    #[serde(default)]
    pub restart: bool,
}

/// `ack`: no fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ack {}

/// `update_agent`: set or remove keys of the sender's own `agents.json` entry. The
/// supervisor writes the file (atomically) and answers `ack`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateAgent {
    /// Keys to set, with their new values.
    #[serde(default)]
    pub set: serde_json::Map<String, serde_json::Value>,
    /// Keys to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `ask`: a message from agent `sender` (on behalf of one of its chats) to the agent
/// named in the envelope's `to`. The receiver answers in an isolated session per
/// sender, chat and topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ask {
    /// Name of the asking agent.
    pub sender: String,
    /// Transport of the chat the request came from (`tg` when missing).
    #[serde(default = "default_transport")]
    pub transport: String,
    /// The asking agent's chat the request came from (0 = none).
    #[serde(default)]
    pub chat_id: i64,
    /// Its forum topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<i64>,
    /// The message.
    pub message: String,
    /// End the previous session with this sender first.
    #[serde(default)]
    pub new_session: bool,
    /// Set for an asynchronous request: the id under which the result comes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Short description shown to the receiver's users (async only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Agent that gets the async result instead of the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Do not tell the receiver's users about the async request.
    #[serde(default)]
    pub silent: bool,
}

/// `answer`: the receiver's reply to a synchronous `ask`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    /// Name of the answering agent.
    pub agent: String,
    /// The answer.
    pub text: String,
    /// The receiver's session that holds the conversation.
    pub session: String,
    /// A notice about the session (it was reset or recovered), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// `ask_result`: the outcome of an asynchronous `ask`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AskResult {
    /// The task id of the request.
    pub task_id: String,
    /// Name of the agent that did the work.
    pub agent: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The answer, or the error.
    pub text: String,
    /// The receiver's session (continue it there with `@<session>`).
    #[serde(default)]
    pub session: String,
    /// Start of the original message.
    #[serde(default)]
    pub request_preview: String,
    /// Transport of the original request's chat (`tg` when missing).
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Chat of the original request (on the asking agent).
    #[serde(default)]
    pub chat_id: i64,
    /// Its forum topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<i64>,
}

/// `ask_cancel`: nobody waits for the answer to request `request` any more (its asker
/// hung up); the asked agent stops working on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AskCancel {
    /// The `id` of the `ask` frame as the asked agent received it.
    pub request: u64,
}

/// `shared_memory`: the content of `SHAREDMEMORY.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SharedMemory {
    /// The file's content (trimmed).
    pub content: String,
}

/// What to do with an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentAction {
    /// Start a stopped or crashed agent.
    Start,
    /// Stop it (it stays configured).
    Stop,
    /// Stop and start it.
    Restart,
}

/// `agent_control`: start/stop/restart a sub-agent (only the main agent may ask).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentControl {
    /// The sub-agent.
    pub name: String,
    /// The action.
    pub action: AgentAction,
}

/// How a background task is scheduled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskPriority {
    /// Someone waits for it: not counted against `tasks.max_parallel`.
    Interactive,
    /// Bulk work; counted like `background`.
    Batch,
    /// Normal background work (also what unknown values mean).
    #[default]
    #[serde(other)]
    Background,
}

/// Lifecycle state of a background task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Its CLI runs now.
    Running,
    /// It asked its parent a question and waits to be resumed with the answer.
    Waiting,
    /// Finished successfully.
    Done,
    /// Finished with an error (or timed out, or ductor restarted under it).
    Failed,
    /// Stopped on request.
    Cancelled,
}

/// `task_create`: start a background task. Sent by `ductor task create` (run by an
/// agent's CLI) to its own agent; the result is delivered to `chat_id`/`topic_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskCreate {
    /// Short human name (default: the start of the prompt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The complete, self-contained instructions for the task.
    pub prompt: String,
    /// Provider to run on (default: the agent's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model to run on (default: the provider's model of the agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Reasoning effort (`low`, `medium`, `high`, ... as the model accepts; default: the
    /// agent's when the task runs on the agent's provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Scheduling class.
    #[serde(default)]
    pub priority: TaskPriority,
    /// Transport of the chat the result goes to (`tg` when missing).
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Chat the result goes to (0 = the agent's primary chat).
    #[serde(default)]
    pub chat_id: i64,
    /// Forum topic the result goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<i64>,
    /// The task whose CLI creates this one (`DUCTOR_TASK_ID`), for the nesting limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_task: Option<String>,
}

/// `task_created`: the task runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskCreated {
    /// 8 hex characters.
    pub task_id: String,
    /// The task's name.
    pub name: String,
    /// Provider it runs on.
    pub provider: String,
    /// Model it runs on.
    pub model: String,
}

/// `task_resume`: continue a finished or waiting task in its CLI session (answered
/// with `ack`; when the task asked a question and is still finishing its run, the
/// follow-up starts as soon as that run ends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskResume {
    /// The task.
    pub task_id: String,
    /// Follow-up instructions or the answer to its question.
    pub prompt: String,
}

/// `task_ask_parent`: a task's question for the chat that started it (answered with
/// `ack` at once; the answer arrives later through `task_resume`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskAskParent {
    /// The asking task (`DUCTOR_TASK_ID`).
    pub task_id: String,
    /// The question.
    pub question: String,
}

/// `task_list`: no fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {}

/// One task in a [`TaskListResult`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskInfo {
    /// 8 hex characters.
    pub task_id: String,
    /// Human name.
    pub name: String,
    /// Lifecycle state.
    pub status: TaskState,
    /// Provider it runs on.
    pub provider: String,
    /// Model it runs on.
    pub model: String,
    /// Scheduling class.
    pub priority: TaskPriority,
    /// Transport of the chat its result goes to.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Chat its result goes to.
    pub chat_id: i64,
    /// Forum topic its result goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<i64>,
    /// Creation time (Unix seconds).
    pub created_at: f64,
    /// Run time so far, over all runs (seconds).
    pub elapsed_seconds: f64,
    /// Questions asked to the parent.
    pub question_count: u32,
    /// The last question (≤ 200 characters), empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_question: String,
    /// Why it failed, empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `task_list_result`: the agent's tasks, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskListResult {
    /// The tasks.
    pub tasks: Vec<TaskInfo>,
}

/// `task_cancel`: stop a task (its CLI is killed first; answered with `ack` once the
/// run has ended, or `error{conflict}` when it had already finished).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskCancel {
    /// The task.
    pub task_id: String,
}

/// `task_delete`: remove a finished task and its folder (answered with `ack`;
/// `error{conflict}` while it runs or waits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskDelete {
    /// The task.
    pub task_id: String,
}

/// `cron_run`: start cron job `job` of the addressed agent now, whatever its
/// schedule and quiet hours (answered with `ack`; `error{not_found}` for no such job).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CronRun {
    /// The job id.
    pub job: String,
}
