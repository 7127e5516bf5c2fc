//! `cron_jobs.json` as the scheduler sees it: a typed view of each job, and
//! read-modify-write of the file under an exclusive lock (`cron_jobs.json.lock`),
//! so the agent's status writes and `ductor cron …` never lose each other's
//! changes. The file is read strictly: one that does not parse is never replaced
//! (the caller keeps its previous jobs and reports the error); records that do not
//! fit and keys this version does not know are written back unchanged.

use crate::state::Lenient;
use crate::state::cron_jobs::{CronJobRecord, CronJobsFile};
use crate::state::fields::{RunOverrides, int, text};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One job, typed (from a [`CronJobRecord`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Id (also the default task folder).
    pub id: String,
    /// Title shown in the chat.
    pub title: String,
    /// Cron expression.
    pub schedule: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Folder under `workspace/cron_tasks/`.
    pub task_folder: String,
    /// The prompt of each run.
    pub instruction: String,
    /// Provider/model/effort, CLI arguments, quiet hours, dependency.
    pub overrides: RunOverrides,
    /// Where results go: transport, chat and topic (none = every served user).
    pub transport: Option<String>,
    /// Chat of the result.
    pub chat_id: Option<i64>,
    /// Topic of the result.
    pub topic_id: Option<i64>,
    /// Say nothing when a run succeeds.
    pub silent_on_success: bool,
    /// The job's own zone.
    pub timezone: Option<String>,
    /// `once`: run the latest missed slot once at start.
    pub catch_up_once: bool,
    /// Last run start (RFC 3339).
    pub last_run_at: Option<String>,
    /// Last run status.
    pub last_run_status: Option<String>,
    /// `ok`, `failed`, `skipped`, `pending`.
    pub last_delivery_status: Option<String>,
    /// The result kept while its delivery failed.
    pub last_result_text: Option<String>,
    /// Delivery retries so far.
    pub delivery_retry_attempts: u32,
}

impl Job {
    /// The typed view of `rec`.
    pub fn from_record(rec: &CronJobRecord) -> Self {
        let f = &rec.fields;
        Self {
            id: rec.id.clone(),
            title: text(f, "title").unwrap_or_else(|| rec.id.clone()),
            schedule: rec.schedule.trim().to_owned(),
            enabled: rec.enabled,
            task_folder: text(f, "task_folder").unwrap_or_else(|| rec.id.clone()),
            instruction: text(f, "agent_instruction")
                .unwrap_or_else(|| "Read through TASK_DESCRIPTION.md and carry it out.".to_owned()),
            overrides: RunOverrides::read(f),
            transport: text(f, "transport"),
            chat_id: int(f, "chat_id").filter(|c| *c != 0),
            topic_id: int(f, "topic_id"),
            silent_on_success: f
                .get("silent_on_success")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            timezone: text(f, "timezone"),
            catch_up_once: text(f, "catch_up").as_deref() == Some("once"),
            last_run_at: text(f, "last_run_at"),
            last_run_status: text(f, "last_run_status"),
            last_delivery_status: text(f, "last_delivery_status"),
            last_result_text: text(f, "last_result_text"),
            delivery_retry_attempts: int(f, "delivery_retry_attempts")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        }
    }
}

/// The typed jobs of `file`.
pub fn jobs(file: &CronJobsFile) -> Vec<Job> {
    file.records().map(Job::from_record).collect()
}

/// The job file of one agent.
#[derive(Debug, Clone)]
pub struct CronFile {
    path: PathBuf,
}

impl CronFile {
    /// The file at `path` (`<agent home>/cron_jobs.json`).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file strictly (a missing file is empty).
    pub fn read(&self) -> Result<CronJobsFile, String> {
        match crate::store::read_json_strict::<CronJobsFile>(&self.path) {
            Ok(file) => Ok(file.unwrap_or_default()),
            Err(e) => Err(format!("{} cannot be read: {e}", self.path.display())),
        }
    }

    /// Changes the file under the lock; nothing is written when `f` fails or the
    /// file cannot be read.
    pub fn modify<R>(
        &self,
        f: impl FnOnce(&mut CronJobsFile) -> Result<R, String>,
    ) -> Result<R, String> {
        let _lock = crate::store::lock_beside(&self.path).map_err(|e| e.to_string())?;
        let mut file = self.read()?;
        let out = f(&mut file)?;
        crate::store::write_json(&self.path, &file).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Sets `fields` on job `id` (a `null` value removes the key). Missing job: `Ok(false)`.
    pub fn set_fields(&self, id: &str, fields: Map<String, Value>) -> Result<bool, String> {
        self.modify(|file| {
            let Some(rec) = find_mut(file, id) else {
                return Ok(false);
            };
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("enabled", Value::Bool(b)) => rec.enabled = b,
                    ("schedule", Value::String(s)) => rec.schedule = s,
                    (_, Value::Null) => {
                        rec.fields.remove(&k);
                    }
                    (_, v) => {
                        rec.fields.insert(k, v);
                    }
                }
            }
            Ok(true)
        })
    }
}

/// The parsed record of job `id`.
pub fn find_mut<'a>(file: &'a mut CronJobsFile, id: &str) -> Option<&'a mut CronJobRecord> {
    file.items
        .iter_mut()
        .filter_map(Lenient::ok_mut)
        .find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_originals_job_reads_with_its_fields() {
        let rec: CronJobRecord = serde_json::from_value(json!({
            "id": "daily-report", "title": "Daily Report", "schedule": "0 9 * * *",
            "task_folder": "daily-report", "agent_instruction": "Do it.",
            "enabled": true, "provider": null, "model": "sonnet", "cli_parameters": ["--x"],
            "quiet_start": 22, "quiet_end": 7, "dependency": null, "chat_id": 123, "topic_id": null,
            "transport": "tg", "silent_on_success": true, "timezone": "Europe/Berlin",
            "delivery_retry_attempts": 2
        }))
        .unwrap();
        let job = Job::from_record(&rec);
        assert_eq!(job.title, "Daily Report");
        assert_eq!(job.overrides.provider, None);
        assert_eq!(job.overrides.model.as_deref(), Some("sonnet"));
        assert_eq!(job.overrides.cli_parameters, ["--x"]);
        assert_eq!(job.overrides.quiet(), Some((22, 7)));
        assert_eq!(job.chat_id, Some(123));
        assert!(job.silent_on_success);
        assert_eq!(job.delivery_retry_attempts, 2);
    }

    #[test]
    fn a_malformed_file_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cron_jobs.json");
        std::fs::write(&path, "{\"jobs\": [").unwrap();
        let file = CronFile::new(&path);
        let err = file.set_fields("a", Map::new()).unwrap_err();
        assert!(err.contains("cannot be read"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"jobs\": [");
    }

    #[test]
    fn fields_are_set_and_removed_and_unknown_keys_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cron_jobs.json");
        std::fs::write(
            &path,
            r#"{"jobs":[{"id":"a","schedule":"* * * * *","x-custom":1,"last_result_text":"t"}, 17],"v":2}"#,
        )
        .unwrap();
        let file = CronFile::new(&path);
        let mut m = Map::new();
        m.insert("enabled".into(), json!(false));
        m.insert("last_result_text".into(), Value::Null);
        m.insert("last_run_status".into(), json!("success"));
        assert!(file.set_fields("a", m).unwrap());
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["jobs"][0]["enabled"], false);
        assert_eq!(v["jobs"][0]["x-custom"], 1);
        assert_eq!(v["jobs"][0]["last_run_status"], "success");
        assert!(v["jobs"][0].get("last_result_text").is_none());
        assert_eq!(v["jobs"][1], 17);
        assert_eq!(v["v"], 2);
        assert!(!file.set_fields("zz", Map::new()).unwrap());
    }
}
