//! `webhooks.json` (§4.5). Loaded and preserved; the webhook server comes with the
//! automation work. Secrets stay in the file as the original stores them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Hook id (URL path component).
    pub id: String,
    /// `wake` or `cron_task`.
    #[serde(default)]
    pub mode: String,
    /// Whether the hook accepts requests.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// All other keys (auth, template, counters, ...), kept as stored.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

fn yes() -> bool {
    true
}

super::list_file!(
    /// The whole `webhooks.json`.
    WebhooksFile,
    "hooks",
    WebhookRecord
);
