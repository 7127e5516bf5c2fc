//! `cron_jobs.json` (§4.4). Loaded and preserved; the scheduler comes with the
//! automation work. Fields are kept as stored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One cron job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CronJobRecord {
    /// Job id (also the task folder name by default).
    pub id: String,
    /// Cron expression.
    #[serde(default)]
    pub schedule: String,
    /// Whether the job runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// All other keys (title, routing, delivery tracking, ...), kept as stored.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

fn yes() -> bool {
    true
}

super::list_file!(
    /// The whole `cron_jobs.json`.
    CronJobsFile,
    "jobs",
    CronJobRecord
);
