//! [`Hook`]: the typed view of one `webhooks.json` record, and its auth settings.
//!
//! The record on disk stays the source of truth ([`WebhookRecord`] keeps every key);
//! a `Hook` is read from it with the original's defaults and never written back
//! directly (the store edits the record's keys).

use crate::secret::Secret;
use crate::state::fields::{RunOverrides, text};
use crate::state::webhooks::WebhookRecord;
use regex::Regex;
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// Default replay window for signed timestamps (`replay_tolerance_seconds`).
pub const DEFAULT_REPLAY_TOLERANCE: Duration = Duration::from_mins(5);

/// What an accepted call does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HookMode {
    /// `wake`: the prompt goes into the live chat session.
    #[default]
    Wake,
    /// `cron_task`: a one-shot isolated run in `task_folder`.
    CronTask,
    /// A mode this version does not know (kept; the dispatcher reports it).
    Other(String),
}

impl HookMode {
    /// Reads the `mode` key (empty → `wake`).
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "" | "wake" => HookMode::Wake,
            "cron_task" => HookMode::CronTask,
            other => HookMode::Other(other.to_owned()),
        }
    }

    /// The `mode` key as stored.
    pub fn as_str(&self) -> &str {
        match self {
            HookMode::Wake => "wake",
            HookMode::CronTask => "cron_task",
            HookMode::Other(s) => s,
        }
    }
}

/// Hash of an HMAC signature (`hmac_algorithm`; unknown → sha256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    /// `sha256`.
    Sha256,
    /// `sha1`.
    Sha1,
    /// `sha512`.
    Sha512,
}

impl HmacAlgorithm {
    /// Reads `hmac_algorithm` (case-insensitive; unknown → sha256).
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "sha1" => HmacAlgorithm::Sha1,
            "sha512" => HmacAlgorithm::Sha512,
            _ => HmacAlgorithm::Sha256,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HmacAlgorithm::Sha256 => "sha256",
            HmacAlgorithm::Sha1 => "sha1",
            HmacAlgorithm::Sha512 => "sha512",
        }
    }
}

/// How the signature is written in its header (`hmac_encoding`; unknown → hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigEncoding {
    /// `hex` (either case).
    Hex,
    /// `base64` (standard alphabet, padding optional).
    Base64,
}

impl SigEncoding {
    /// Reads `hmac_encoding` (unknown → hex).
    pub fn parse(s: &str) -> Self {
        if s.trim().eq_ignore_ascii_case("base64") {
            SigEncoding::Base64
        } else {
            SigEncoding::Hex
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigEncoding::Hex => "hex",
            SigEncoding::Base64 => "base64",
        }
    }
}

/// A regular expression from the file, compiled once; one that does not compile
/// makes every request of its hook fail auth.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    compiled: Option<Regex>,
}

impl Pattern {
    /// Compiles `source`.
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_owned(),
            compiled: Regex::new(source).ok(),
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled expression, or `None` when it does not compile.
    pub fn regex(&self) -> Option<&Regex> {
        self.compiled.as_ref()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?}", self.source)?;
        if self.compiled.is_none() {
            f.write_str(", invalid")?;
        }
        f.write_str(")")
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// HMAC signature settings of a hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HmacAuth {
    /// `hmac_header`: the header carrying the signature.
    pub header: String,
    /// `hmac_secret`.
    pub secret: Secret,
    /// `hmac_algorithm`.
    pub algorithm: HmacAlgorithm,
    /// `hmac_encoding`.
    pub encoding: SigEncoding,
    /// `hmac_sig_prefix`: stripped from the header value (absent → `sha256=`).
    pub sig_prefix: String,
    /// `hmac_sig_regex`: when set, its group 1 is the signature (every match is tried).
    pub sig_regex: Option<Pattern>,
    /// `hmac_payload_prefix_regex`: when set, `<group 1>.` is signed before the body.
    pub payload_prefix_regex: Option<Pattern>,
}

impl HmacAuth {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`.
    pub fn github(secret: &str) -> Self {
        Self::plain("X-Hub-Signature-256", secret, SigEncoding::Hex, "sha256=")
    }

    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`, signing `<t>.<body>`.
    pub fn stripe(secret: &str) -> Self {
        Self {
            sig_regex: Some(Pattern::new(r"v1=([a-f0-9]+)")),
            payload_prefix_regex: Some(Pattern::new(r"t=(\d+)")),
            ..Self::plain("Stripe-Signature", secret, SigEncoding::Hex, "")
        }
    }

    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>`.
    pub fn shopify(secret: &str) -> Self {
        Self::plain("X-Shopify-Hmac-Sha256", secret, SigEncoding::Base64, "")
    }

    fn plain(header: &str, secret: &str, encoding: SigEncoding, prefix: &str) -> Self {
        Self {
            header: header.to_owned(),
            secret: Secret::new(secret),
            algorithm: HmacAlgorithm::Sha256,
            encoding,
            sig_prefix: prefix.to_owned(),
            sig_regex: None,
            payload_prefix_regex: None,
        }
    }

    /// The regexes that do not compile.
    pub fn invalid_patterns(&self) -> impl Iterator<Item = &Pattern> {
        [&self.sig_regex, &self.payload_prefix_regex]
            .into_iter()
            .flatten()
            .filter(|p| p.regex().is_none())
    }
}

/// How a hook authenticates its callers (`auth_mode`; unknown → bearer).
#[derive(Debug, Clone, PartialEq)]
pub enum HookAuth {
    /// `Authorization: Bearer <token>`; an empty `token` means the global one.
    Bearer {
        /// The hook's own token (may be empty).
        token: Secret,
    },
    /// A signature of the body in a header.
    Hmac(HmacAuth),
}

impl Default for HookAuth {
    /// Bearer without a token of its own.
    fn default() -> Self {
        HookAuth::Bearer {
            token: Secret::default(),
        }
    }
}

impl HookAuth {
    /// The stored `auth_mode`.
    pub fn mode(&self) -> &'static str {
        match self {
            HookAuth::Bearer { .. } => "bearer",
            HookAuth::Hmac(_) => "hmac",
        }
    }
}

/// One hook, read from its record with the original's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// Id (the `/hooks/{id}` path component).
    pub id: String,
    /// Human title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// What an accepted call does.
    pub mode: HookMode,
    /// Whether calls are accepted.
    pub enabled: bool,
    /// The prompt with `{{field}}` placeholders.
    pub prompt_template: String,
    /// Folder of a `cron_task` hook.
    pub task_folder: Option<String>,
    /// How callers authenticate.
    pub auth: HookAuth,
    /// Window for signed timestamps (`replay_tolerance_seconds`, default 300).
    pub replay_tolerance: Duration,
    /// How `cron_task` runs are run (overrides, quiet hours, dependency).
    pub overrides: RunOverrides,
    /// `created_at` as stored.
    pub created_at: Option<String>,
    /// Completed runs so far.
    pub trigger_count: u64,
    /// When the last run ended (ISO 8601), as stored.
    pub last_triggered_at: Option<String>,
    /// The last run's error (`None` after a success).
    pub last_error: Option<String>,
}

fn pattern(fields: &Map<String, Value>, key: &str) -> Option<Pattern> {
    text(fields, key).map(|s| Pattern::new(&s))
}

fn auth_of(fields: &Map<String, Value>) -> HookAuth {
    let raw = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or_default();
    if !raw("auth_mode").trim().eq_ignore_ascii_case("hmac") {
        return HookAuth::Bearer {
            token: Secret::new(raw("token").trim()),
        };
    }
    HookAuth::Hmac(HmacAuth {
        header: raw("hmac_header").trim().to_owned(),
        secret: Secret::new(raw("hmac_secret")),
        algorithm: HmacAlgorithm::parse(raw("hmac_algorithm")),
        encoding: SigEncoding::parse(raw("hmac_encoding")),
        sig_prefix: match fields.get("hmac_sig_prefix") {
            Some(Value::String(s)) => s.clone(),
            _ => "sha256=".to_owned(),
        },
        sig_regex: pattern(fields, "hmac_sig_regex"),
        payload_prefix_regex: pattern(fields, "hmac_payload_prefix_regex"),
    })
}

impl Hook {
    /// Reads a record; missing or ill-typed keys take the original's defaults.
    pub fn from_record(record: &WebhookRecord) -> Self {
        let f = &record.fields;
        Self {
            id: record.id.clone(),
            title: text(f, "title").unwrap_or_default(),
            description: text(f, "description").unwrap_or_default(),
            mode: HookMode::parse(&record.mode),
            enabled: record.enabled,
            prompt_template: f
                .get("prompt_template")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            task_folder: text(f, "task_folder"),
            auth: auth_of(f),
            replay_tolerance: f
                .get("replay_tolerance_seconds")
                .and_then(Value::as_u64)
                .filter(|s| *s > 0)
                .map_or(DEFAULT_REPLAY_TOLERANCE, Duration::from_secs),
            overrides: RunOverrides::read(f),
            created_at: text(f, "created_at"),
            trigger_count: f.get("trigger_count").and_then(Value::as_u64).unwrap_or(0),
            last_triggered_at: text(f, "last_triggered_at"),
            last_error: text(f, "last_error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> WebhookRecord {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_original_record_reads_with_its_values() {
        let text = std::fs::read_to_string("tests/fixtures/original/webhooks.json").unwrap();
        let file: crate::state::webhooks::WebhooksFile = serde_json::from_str(&text).unwrap();
        let hook = Hook::from_record(file.records().next().unwrap());
        assert_eq!(hook.id, "github-pr");
        assert_eq!(hook.mode, HookMode::Wake);
        assert_eq!(hook.trigger_count, 3);
        assert_eq!(hook.task_folder, None);
        let HookAuth::Hmac(h) = &hook.auth else {
            panic!("hmac expected")
        };
        assert_eq!(h, &HmacAuth::github("s3cr3t-hmac"));
        assert!(
            !format!("{hook:?}").contains("s3cr3t"),
            "secrets stay masked"
        );
    }

    #[test]
    fn defaults_and_unknown_values() {
        let hook = Hook::from_record(&record(json!({"id": "a", "auth_mode": "weird"})));
        assert_eq!(hook.mode, HookMode::Wake);
        assert!(hook.enabled);
        assert_eq!(
            hook.auth,
            HookAuth::Bearer {
                token: Secret::default()
            }
        );
        assert_eq!(hook.replay_tolerance, DEFAULT_REPLAY_TOLERANCE);

        let hook = Hook::from_record(&record(json!({
            "id": "b", "mode": "later", "auth_mode": "HMAC", "hmac_algorithm": "md5",
            "hmac_encoding": "base64", "hmac_sig_regex": "(", "quiet_start": 25,
            "quiet_end": 7, "replay_tolerance_seconds": 60, "cli_parameters": ["--x", 1]
        })));
        assert_eq!(hook.mode, HookMode::Other("later".into()));
        assert_eq!(
            (hook.overrides.quiet_start, hook.overrides.quiet_end),
            (None, Some(7))
        );
        assert_eq!(hook.replay_tolerance, Duration::from_mins(1));
        assert_eq!(hook.overrides.cli_parameters, vec!["--x".to_owned()]);
        let HookAuth::Hmac(h) = &hook.auth else {
            panic!("hmac expected")
        };
        assert_eq!(h.algorithm, HmacAlgorithm::Sha256);
        assert_eq!(h.encoding, SigEncoding::Base64);
        assert_eq!(h.sig_prefix, "sha256=", "absent prefix → sha256=");
        assert_eq!(h.invalid_patterns().count(), 1);

        let empty_prefix = Hook::from_record(&record(
            json!({"id": "c", "auth_mode": "hmac", "hmac_sig_prefix": ""}),
        ));
        let HookAuth::Hmac(h) = &empty_prefix.auth else {
            panic!("hmac expected")
        };
        assert_eq!(h.sig_prefix, "", "an explicit empty prefix stays empty");
    }
}
