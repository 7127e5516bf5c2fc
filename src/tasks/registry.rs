//! `tasks.json` as a domain object: statuses and priorities, ids, the per-chat
//! parallel limit, restart recovery and retention. One writer (a [`Persisted`]
//! task); check-and-change steps (the limit) happen inside one update so two
//! requests cannot both slip under it. Records it cannot read are kept verbatim.

use crate::persist::Persisted;
use crate::state::Lenient;
use crate::state::tasks::{TaskRecord, TasksFile};
use std::path::Path;

/// Lifecycle state of a task (`status` in `tasks.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Its CLI runs now.
    Running,
    /// It asked a question and waits to be resumed.
    Waiting,
    /// Finished successfully.
    Done,
    /// Finished with an error.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl Status {
    /// Parses the `status` field; unknown values read as `failed` (finished, not resumable by accident).
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Status::Running,
            "waiting" => Status::Waiting,
            "done" => Status::Done,
            "cancelled" => Status::Cancelled,
            _ => Status::Failed,
        }
    }

    /// The `status` field value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Waiting => "waiting",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Done, failed or cancelled.
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Done | Status::Failed | Status::Cancelled)
    }
}

/// Scheduling class (`priority` in `tasks.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// Not counted against `tasks.max_parallel`.
    Interactive,
    /// Counted (also what unknown values mean).
    #[default]
    Background,
    /// Counted.
    Batch,
}

impl Priority {
    /// Parses the `priority` field; unknown values mean `background`.
    pub fn parse(s: &str) -> Self {
        match s {
            "interactive" => Priority::Interactive,
            "batch" => Priority::Batch,
            _ => Priority::Background,
        }
    }

    /// The `priority` field value.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Background => "background",
            Priority::Batch => "batch",
        }
    }
}

/// Sets the status of a record.
pub fn set_status(rec: &mut TaskRecord, status: Status) {
    status.as_str().clone_into(&mut rec.status);
}

/// The status of a record.
pub fn status_of(rec: &TaskRecord) -> Status {
    Status::parse(&rec.status)
}

/// Current time as Unix seconds (the format of `tasks.json`).
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whether `s` looks like a task id (8 lower-case hex characters).
pub fn is_task_id(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a record occupies one of its chat's `max_parallel` slots.
fn counts(rec: &TaskRecord, transport: &str, chat_id: i64) -> bool {
    rec.chat_id == chat_id
        && rec.transport == transport
        && status_of(rec) == Status::Running
        && Priority::parse(&rec.priority) != Priority::Interactive
}

/// How many tasks of `chat_id` count against its limit, `except` one.
fn running_in(file: &TasksFile, transport: &str, chat_id: i64, except: Option<&str>) -> usize {
    file.records()
        .filter(|r| counts(r, transport, chat_id) && Some(r.task_id.as_str()) != except)
        .count()
}

/// The tasks of one agent.
#[derive(Debug, Clone)]
pub struct Registry {
    file: Persisted<TasksFile>,
}

impl Registry {
    /// Loads `tasks.json` (see [`crate::store::load_state`]).
    pub fn load(path: &Path) -> Self {
        let file: Persisted<TasksFile> = Persisted::load(path);
        file.read(|f| crate::state::warn_raw("tasks.json", &f.items));
        Self { file }
    }

    /// A copy of task `id`.
    pub fn get(&self, id: &str) -> Option<TaskRecord> {
        self.file
            .read(|f| f.records().find(|r| r.task_id == id).cloned())
    }

    /// Every readable task, newest first.
    pub fn all(&self) -> Vec<TaskRecord> {
        let mut all: Vec<TaskRecord> = self.file.read(|f| f.records().cloned().collect());
        all.sort_by(|a, b| b.created_at.total_cmp(&a.created_at));
        all
    }

    /// Ids of every task, including records that could not be read.
    pub fn all_ids(&self) -> Vec<String> {
        self.file.read(|f| {
            f.items
                .iter()
                .filter_map(|item| match item {
                    Lenient::Ok(r) => Some(r.task_id.clone()),
                    Lenient::Raw(v) => v.get("task_id").and_then(|t| t.as_str()).map(str::to_owned),
                })
                .collect()
        })
    }

    /// A fresh id that no task (readable or not) uses.
    pub fn unused_id(&self) -> String {
        loop {
            let id = crate::util::random_hex(4);
            if !self.all_ids().contains(&id) {
                return id;
            }
        }
    }

    /// Tasks of `chat_id` that count against the limit, `except` one.
    #[cfg(test)]
    fn counted_running(&self, chat_id: i64, except: Option<&str>) -> usize {
        self.file
            .read(|f| running_in(f, crate::address::TELEGRAM, chat_id, except))
    }

    /// Adds `rec` unless it counts against the limit and `max` tasks of its chat
    /// already run; the error is the number running.
    pub fn insert_within_limit(&self, rec: TaskRecord, max: u32) -> Result<(), usize> {
        let counted = Priority::parse(&rec.priority) != Priority::Interactive;
        self.file.update(|f| {
            let running = running_in(f, &rec.transport, rec.chat_id, None);
            if counted && running >= max as usize {
                return Err(running);
            }
            f.items.push(Lenient::Ok(rec));
            Ok(())
        })
    }

    /// Sets task `id` running again (a resume) with `f`, unless that would exceed the
    /// limit of its chat. `Ok(None)` when the task is gone.
    pub fn restart_within_limit<R>(
        &self,
        id: &str,
        max: u32,
        f: impl FnOnce(&mut TaskRecord) -> R,
    ) -> Result<Option<R>, usize> {
        self.file.update(|file| {
            let Some(rec) = file.records().find(|r| r.task_id == id) else {
                return Ok(None);
            };
            let (transport, chat, counted) = (
                rec.transport.clone(),
                rec.chat_id,
                Priority::parse(&rec.priority) != Priority::Interactive,
            );
            let running = running_in(file, &transport, chat, Some(id));
            if counted && running >= max as usize {
                return Err(running);
            }
            let rec = file
                .items
                .iter_mut()
                .filter_map(Lenient::ok_mut)
                .find(|r| r.task_id == id);
            Ok(rec.map(|r| {
                set_status(r, Status::Running);
                f(r)
            }))
        })
    }

    /// Changes task `id`; `None` when it does not exist.
    pub fn update<R>(&self, id: &str, f: impl FnOnce(&mut TaskRecord) -> R) -> Option<R> {
        self.file.update(|file| {
            file.items
                .iter_mut()
                .filter_map(Lenient::ok_mut)
                .find(|r| r.task_id == id)
                .map(f)
        })
    }

    /// Removes the readable tasks matching `pred`; returns them.
    pub fn remove_where(&self, pred: impl Fn(&TaskRecord) -> bool) -> Vec<TaskRecord> {
        self.file.update(|file| {
            let mut removed = Vec::new();
            file.items.retain(|item| match item {
                Lenient::Ok(r) if pred(r) => {
                    removed.push(r.clone());
                    false
                }
                _ => true,
            });
            removed
        })
    }

    /// Removes task `id`.
    pub fn remove(&self, id: &str) -> Option<TaskRecord> {
        self.remove_where(|r| r.task_id == id).pop()
    }

    /// Start-up: every task still `running` was cut off by the previous process;
    /// it becomes `failed`. Returns those tasks (after the change).
    pub fn fail_interrupted(&self, at: f64, reason: &str) -> Vec<TaskRecord> {
        self.file.update(|file| {
            let mut changed = Vec::new();
            for r in file.items.iter_mut().filter_map(Lenient::ok_mut) {
                if status_of(r) == Status::Running {
                    set_status(r, Status::Failed);
                    reason.clone_into(&mut r.error);
                    r.completed_at = Some(at);
                    changed.push(r.clone());
                }
            }
            changed
        })
    }

    /// Ids of finished tasks to drop: finished more than `retention_hours` ago, or
    /// older than the newest `keep_last` finished ones.
    pub fn expired(&self, at: f64, retention_hours: u64, keep_last: usize) -> Vec<String> {
        let mut finished: Vec<(f64, String)> = self.file.read(|f| {
            f.records()
                .filter(|r| status_of(r).is_finished())
                .map(|r| (r.completed_at.unwrap_or(r.created_at), r.task_id.clone()))
                .collect()
        });
        finished.sort_by(|a, b| b.0.total_cmp(&a.0));
        let horizon = at - retention_hours as f64 * 3600.0;
        finished
            .into_iter()
            .enumerate()
            .filter(|(i, (t, _))| *i >= keep_last || *t < horizon)
            .map(|(_, (_, id))| id)
            .collect()
    }

    /// Waits until every change is on disk.
    pub async fn flush(&self) {
        self.file.flush().await;
    }

    /// Like [`Registry::flush`], saying whether `tasks.json` could be written.
    pub async fn save(&self) -> Result<(), String> {
        self.file.save().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, chat: i64, status: Status, priority: Priority) -> TaskRecord {
        serde_json::from_value(serde_json::json!({
            "task_id": id, "chat_id": chat, "status": status.as_str(),
            "priority": priority.as_str(), "created_at": 1000.0,
        }))
        .unwrap()
    }

    fn registry() -> (tempfile::TempDir, Registry) {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::load(&dir.path().join("tasks.json"));
        (dir, reg)
    }

    #[tokio::test]
    async fn ids_are_eight_hex_and_unique() {
        let (_d, reg) = registry();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let id = reg.unused_id();
            assert!(is_task_id(&id), "{id}");
            reg.insert_within_limit(rec(&id, 1, Status::Done, Priority::Background), 5)
                .unwrap();
            assert!(seen.insert(id));
        }
        assert!(!is_task_id("A1B2C3D4") && !is_task_id("a1b2c3d") && !is_task_id("../x"));
    }

    #[tokio::test]
    async fn the_limit_counts_running_non_interactive_tasks_of_the_chat() {
        let (_d, reg) = registry();
        for i in 0..2 {
            let r = rec(
                &format!("0000000{i}"),
                7,
                Status::Running,
                Priority::Background,
            );
            reg.insert_within_limit(r, 2).unwrap();
        }
        let third = rec("00000003", 7, Status::Running, Priority::Batch);
        assert_eq!(reg.insert_within_limit(third, 2), Err(2));
        // Interactive tasks bypass the cap and do not count.
        let inter = rec("00000004", 7, Status::Running, Priority::Interactive);
        reg.insert_within_limit(inter, 2).unwrap();
        assert_eq!(reg.counted_running(7, None), 2);
        // Other chats have their own slots; finished or waiting tasks free theirs.
        reg.insert_within_limit(rec("00000005", 8, Status::Running, Priority::Background), 2)
            .unwrap();
        reg.update("00000000", |r| r.status = "waiting".into());
        reg.insert_within_limit(rec("00000006", 7, Status::Running, Priority::Background), 2)
            .unwrap();
        // A resume is refused while the chat is full, allowed for interactive tasks.
        reg.insert_within_limit(rec("00000007", 7, Status::Done, Priority::Background), 9)
            .unwrap();
        assert_eq!(reg.restart_within_limit("00000007", 2, |_| ()), Err(2));
        assert_eq!(
            reg.restart_within_limit("00000000", 3, |_| ()),
            Ok(Some(()))
        );
        assert_eq!(reg.restart_within_limit("nosuch00", 3, |_| ()), Ok(None));
    }

    #[tokio::test]
    async fn restart_fails_running_tasks_only() {
        let (_d, reg) = registry();
        reg.insert_within_limit(
            rec("0000000a", 1, Status::Running, Priority::Interactive),
            0,
        )
        .unwrap();
        reg.insert_within_limit(rec("0000000b", 1, Status::Done, Priority::Interactive), 0)
            .unwrap();
        reg.insert_within_limit(
            rec("0000000c", 1, Status::Waiting, Priority::Interactive),
            0,
        )
        .unwrap();
        let failed = reg.fail_interrupted(2000.0, "ductor restarted while the task was running");
        assert_eq!(failed.len(), 1);
        let a = reg.get("0000000a").unwrap();
        assert_eq!(a.status, "failed");
        assert_eq!(a.error, "ductor restarted while the task was running");
        assert_eq!(a.completed_at, Some(2000.0));
        assert_eq!(reg.get("0000000b").unwrap().status, "done");
        assert_eq!(reg.get("0000000c").unwrap().status, "waiting");
    }

    #[tokio::test]
    async fn retention_by_age_and_by_count() {
        let (_d, reg) = registry();
        let hour = 3600.0;
        let now = 100.0 * hour;
        for (i, done_h) in [99.0, 98.0, 97.0, 10.0].iter().enumerate() {
            let mut r = rec(
                &format!("0000001{i}"),
                1,
                Status::Done,
                Priority::Background,
            );
            r.completed_at = Some(done_h * hour);
            reg.insert_within_limit(r, 9).unwrap();
        }
        let mut running = rec("00000020", 1, Status::Running, Priority::Background);
        running.created_at = 0.0;
        reg.insert_within_limit(running, 9).unwrap();
        // 24 h retention: only the one finished 90 h ago expires.
        assert_eq!(reg.expired(now, 24, 100), vec!["00000013".to_owned()]);
        // Keep the newest two finished; running tasks are never expired.
        let mut ids = reg.expired(now, 1000, 2);
        ids.sort();
        assert_eq!(ids, vec!["00000012".to_owned(), "00000013".to_owned()]);
    }

    #[tokio::test]
    async fn the_originals_file_loads_and_unknown_fields_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.json");
        let original = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/original/tasks.json"
        ))
        .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
        v["tasks"][0]["future_field"] = serde_json::json!({"x": 1});
        v["tasks"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"task_id": 5}));
        std::fs::write(&path, v.to_string()).unwrap();
        let reg = Registry::load(&path);
        let all = reg.all();
        assert_eq!(all.len(), 2);
        let flight = reg.get("a1b2c3d4").unwrap();
        assert_eq!(flight.name, "Flight search");
        assert_eq!(status_of(&flight), Status::Done);
        assert_eq!(flight.thread_id, Some(5));
        assert_eq!(
            Priority::parse(&reg.get("0f0e0d0c").unwrap().priority),
            Priority::Interactive
        );
        reg.update("a1b2c3d4", |r| r.num_turns += 1);
        reg.flush().await;
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back["tasks"][0]["future_field"]["x"], 1);
        assert_eq!(back["tasks"][0]["num_turns"], 13);
        assert_eq!(back["tasks"][2]["task_id"], 5, "unreadable record kept");
        assert!(back["tasks"][1].get("thread_id").is_none());
    }
}
