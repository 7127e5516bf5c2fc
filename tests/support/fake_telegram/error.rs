//! Telegram-shaped API errors: what the fake answers when a request is refused.
//!
//! Every refusal is `{"ok":false,"error_code":N,"description":"..."}` with the HTTP status equal to
//! `error_code`, exactly like the Bot API. Descriptions are the strings Telegram sends, because
//! clients (teloxide's `ApiError`) match on them.

use serde_json::{Value, json};

/// One refused request: HTTP status / `error_code`, `description`, and for 429 `retry_after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// `error_code` and HTTP status (400, 401, 403, 404, 409, 413, 429, or a 5xx on request).
    pub code: u16,
    /// The full `description`, e.g. `Bad Request: message is too long`.
    pub description: String,
    /// `parameters.retry_after` in seconds (flood control).
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// Any code and description.
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400 `Bad Request: {detail}`.
    pub fn bad_request(detail: impl AsRef<str>) -> Self {
        Self::new(400, format!("Bad Request: {}", detail.as_ref()))
    }

    /// 403 `Forbidden: {detail}`.
    pub fn forbidden(detail: impl AsRef<str>) -> Self {
        Self::new(403, format!("Forbidden: {}", detail.as_ref()))
    }

    /// 401 for an unknown bot token.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized")
    }

    /// 404 for an unknown method or path.
    pub fn not_found() -> Self {
        Self::new(404, "Not Found")
    }

    /// 429 flood control with `parameters.retry_after`.
    pub fn retry_after(secs: u32) -> Self {
        Self {
            code: 429,
            description: format!("Too Many Requests: retry after {secs}"),
            retry_after: Some(secs),
        }
    }

    /// 409 sent to a pending long poll that a newer `getUpdates` replaced.
    pub fn get_updates_conflict() -> Self {
        Self::new(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        )
    }

    /// 400 `can't parse entities: {detail}` (HTML `parse_mode` errors).
    pub fn cant_parse_entities(detail: &str) -> Self {
        Self::bad_request(format!("can't parse entities: {detail}"))
    }

    /// The wire body Telegram sends for this error.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let Some(secs) = self.retry_after {
            body["parameters"] = json!({ "retry_after": secs });
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.description)
    }
}

/// What a handler returns: the `result` value or a Telegram error.
pub type ApiResult = Result<Value, ApiError>;
