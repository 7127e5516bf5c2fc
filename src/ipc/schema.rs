//! Generates the human-readable contract in `ipc-schema/`: one JSON Schema per
//! message (`<type>.schema.json`), the envelope schema and one golden example per
//! message. `tests/ipc_schema.rs` fails when these drift from the Rust types.

use super::PROTOCOL_VERSION;
use super::message::{
    Ack, AgentAction, AgentControl, AgentHealth, AgentStatus, Answer, Ask, AskCancel, AskResult,
    Body, Envelope, ErrorBody, ErrorCode, HealthReport, HealthRequest, Hello, Notice, PeerRole,
    Ping, Pong, SharedMemory, Shutdown, StopAll, Stopped, UpdateAgent, Welcome,
};
use super::message::{
    CronRun, TaskAskParent, TaskCancel, TaskCreate, TaskCreated, TaskDelete, TaskInfo, TaskList,
    TaskListResult, TaskPriority, TaskResume, TaskState,
};
use schemars::{JsonSchema, schema_for};
use serde_json::Value;

fn schema<T: JsonSchema>() -> Value {
    // Invariant: schemars output is plain JSON.
    serde_json::to_value(schema_for!(T)).expect("schema serializes")
}

/// `(file name, schema)` for the envelope and every message payload.
pub fn schemas() -> Vec<(String, Value)> {
    let mut out = vec![("envelope.schema.json".to_owned(), schema::<Envelope>())];
    let payloads: Vec<(&str, Value)> = vec![
        ("hello", schema::<Hello>()),
        ("welcome", schema::<Welcome>()),
        ("error", schema::<ErrorBody>()),
        ("ping", schema::<Ping>()),
        ("pong", schema::<Pong>()),
        ("health_request", schema::<HealthRequest>()),
        ("health", schema::<HealthReport>()),
        ("notice", schema::<Notice>()),
        ("stop_all", schema::<StopAll>()),
        ("stopped", schema::<Stopped>()),
        ("shutdown", schema::<Shutdown>()),
        ("ack", schema::<Ack>()),
        ("update_agent", schema::<UpdateAgent>()),
        ("ask", schema::<Ask>()),
        ("answer", schema::<Answer>()),
        ("ask_result", schema::<AskResult>()),
        ("ask_cancel", schema::<AskCancel>()),
        ("shared_memory", schema::<SharedMemory>()),
        ("agent_control", schema::<AgentControl>()),
        ("task_create", schema::<TaskCreate>()),
        ("task_created", schema::<TaskCreated>()),
        ("task_resume", schema::<TaskResume>()),
        ("task_ask_parent", schema::<TaskAskParent>()),
        ("task_list", schema::<TaskList>()),
        ("task_list_result", schema::<TaskListResult>()),
        ("task_cancel", schema::<TaskCancel>()),
        ("task_delete", schema::<TaskDelete>()),
        ("cron_run", schema::<CronRun>()),
    ];
    for (name, s) in payloads {
        out.push((format!("{name}.schema.json"), s));
    }
    out
}

fn env(id: u64, re: Option<u64>, to: Option<&str>, body: Body) -> Envelope {
    Envelope {
        v: PROTOCOL_VERSION,
        id,
        re,
        to: to.map(str::to_owned),
        from: None,
        body,
    }
}

/// One golden example envelope per message type.
#[allow(clippy::too_many_lines)] // one literal per message; splitting it would hide the list
pub fn examples() -> Vec<Envelope> {
    vec![
        env(
            1,
            None,
            None,
            Body::Hello(Hello {
                role: PeerRole::Agent,
                name: Some("sub1".into()),
                pid: 4242,
                version: "0.1.0".into(),
                protocol: PROTOCOL_VERSION,
                token: Some("0123456789abcdef0123456789abcdef".into()),
            }),
        ),
        env(
            1,
            Some(1),
            None,
            Body::Welcome(Welcome {
                protocol: PROTOCOL_VERSION,
                version: "0.1.0".into(),
                supervisor_pid: 4200,
            }),
        ),
        env(
            0,
            Some(7),
            None,
            Body::Error(ErrorBody {
                code: ErrorCode::UnknownAgent,
                message: "no agent named `nosuch`; available: main, sub1".into(),
            }),
        ),
        env(
            7,
            None,
            Some("sub1"),
            Body::Ping(Ping {
                payload: "hi".into(),
            }),
        ),
        env(
            3,
            Some(7),
            None,
            Body::Pong(Pong {
                agent: "sub1".into(),
                pid: 4242,
                payload: "hi".into(),
            }),
        ),
        env(2, None, None, Body::HealthRequest(HealthRequest {})),
        env(
            5,
            Some(2),
            None,
            Body::Health(HealthReport {
                supervisor_pid: 4200,
                supervisor_uptime_seconds: 3600,
                agents: vec![
                    AgentHealth {
                        name: "main".into(),
                        status: AgentStatus::Running,
                        pid: Some(4201),
                        uptime_seconds: 3590,
                        restart_count: 0,
                        last_error: None,
                    },
                    AgentHealth {
                        name: "sub1".into(),
                        status: AgentStatus::Crashed,
                        pid: None,
                        uptime_seconds: 0,
                        restart_count: 5,
                        last_error: Some("exited with code 1".into()),
                    },
                ],
            }),
        ),
        env(
            9,
            None,
            None,
            Body::Notice(Notice {
                text: "**[Supervisor]** Sub-agent `sub1` stopped after 5 crashes".into(),
            }),
        ),
        env(4, None, None, Body::StopAll(StopAll {})),
        env(
            6,
            Some(4),
            None,
            Body::Stopped(Stopped {
                count: 3,
                agents: 2,
            }),
        ),
        env(
            8,
            None,
            None,
            Body::Shutdown(Shutdown {
                reason: "ductor stop".into(),
                restart: false,
            }),
        ),
        env(10, Some(8), None, Body::Ack(Ack {})),
        env(
            11,
            None,
            None,
            Body::UpdateAgent(UpdateAgent {
                set: serde_json::json!({"provider": "codex", "model": "gpt-5.5"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                remove: vec!["reasoning_effort".into()],
            }),
        ),
        env(
            12,
            None,
            Some("sub1"),
            Body::Ask(Ask {
                sender: "main".into(),
                transport: "tg".into(),
                chat_id: 123_456_789,
                topic_id: None,
                message: "what is your name".into(),
                new_session: false,
                task_id: Some("a1b2c3d4e5f6".into()),
                summary: Some("name check".into()),
                reply_to: None,
                silent: false,
            }),
        ),
        env(
            13,
            Some(12),
            None,
            Body::Answer(Answer {
                agent: "sub1".into(),
                text: "I am sub1.".into(),
                session: "ia.main.t0.x1a2b3c4d".into(),
                notice: None,
            }),
        ),
        env(
            14,
            None,
            Some("main"),
            Body::AskResult(AskResult {
                task_id: "a1b2c3d4e5f6".into(),
                agent: "sub1".into(),
                ok: true,
                text: "I am sub1.".into(),
                session: "ia.main.t0.x1a2b3c4d".into(),
                request_preview: "what is your name".into(),
                transport: "tg".into(),
                chat_id: 123_456_789,
                topic_id: None,
            }),
        ),
        env(
            17,
            None,
            Some("sub1"),
            Body::AskCancel(AskCancel { request: 11 }),
        ),
        env(
            15,
            None,
            Some("sub1"),
            Body::SharedMemory(SharedMemory {
                content: "# Shared Knowledge\n- The user lives in Berlin.".into(),
            }),
        ),
        env(
            16,
            None,
            None,
            Body::AgentControl(AgentControl {
                name: "sub1".into(),
                action: AgentAction::Restart,
            }),
        ),
    ]
    .into_iter()
    .chain(task_examples())
    .collect()
}

/// Golden examples of the background-task messages.
fn task_examples() -> Vec<Envelope> {
    vec![
        env(
            12,
            None,
            Some("main"),
            Body::TaskCreate(TaskCreate {
                name: Some("Flight search".into()),
                prompt: "Find the cheapest flight from Berlin to Lisbon in May.".into(),
                provider: None,
                model: Some("sonnet".into()),
                thinking: Some("high".into()),
                priority: TaskPriority::Background,
                transport: "tg".into(),
                chat_id: 123_456_789,
                topic_id: None,
                parent_task: None,
            }),
        ),
        env(
            13,
            Some(12),
            None,
            Body::TaskCreated(TaskCreated {
                task_id: "a1b2c3d4".into(),
                name: "Flight search".into(),
                provider: "claude".into(),
                model: "sonnet".into(),
            }),
        ),
        env(
            14,
            None,
            Some("main"),
            Body::TaskResume(TaskResume {
                task_id: "a1b2c3d4".into(),
                prompt: "The dates are flexible by two days.".into(),
            }),
        ),
        env(
            15,
            None,
            Some("main"),
            Body::TaskAskParent(TaskAskParent {
                task_id: "a1b2c3d4".into(),
                question: "Are the travel dates flexible?".into(),
            }),
        ),
        env(16, None, Some("main"), Body::TaskList(TaskList {})),
        env(
            17,
            Some(16),
            None,
            Body::TaskListResult(TaskListResult {
                tasks: vec![TaskInfo {
                    task_id: "a1b2c3d4".into(),
                    name: "Flight search".into(),
                    status: TaskState::Waiting,
                    provider: "claude".into(),
                    model: "sonnet".into(),
                    priority: TaskPriority::Background,
                    transport: "tg".into(),
                    chat_id: 123_456_789,
                    topic_id: Some(5),
                    created_at: 1_767_000_000.0,
                    elapsed_seconds: 42.5,
                    question_count: 1,
                    last_question: "Are the travel dates flexible?".into(),
                    error: String::new(),
                }],
            }),
        ),
        env(
            18,
            None,
            Some("main"),
            Body::TaskCancel(TaskCancel {
                task_id: "a1b2c3d4".into(),
            }),
        ),
        env(
            19,
            None,
            Some("main"),
            Body::TaskDelete(TaskDelete {
                task_id: "a1b2c3d4".into(),
            }),
        ),
        env(
            20,
            None,
            Some("main"),
            Body::CronRun(CronRun {
                job: "daily-report".into(),
            }),
        ),
    ]
}
