//! The webhook server: external services (GitHub, Stripe, Shopify, CI, monitoring)
//! `POST` JSON to `/hooks/{id}`; an accepted call renders the hook's prompt template
//! with the payload and hands it to a [`Dispatch`]er, which wakes the chat or runs a
//! task. The caller gets 202 at once and never waits for the agent.
//!
//! - [`settings`]: the `webhooks` config block ([`WebhookSettings`]).
//! - [`hook`]: the typed view of a `webhooks.json` record ([`Hook`]).
//! - [`store`], [`manage`]: `webhooks.json` in memory, bookkeeping, and the
//!   management functions of `ductor webhooks` ([`HookStore`]).
//! - [`auth`]: bearer and HMAC checks, and signed test requests.
//! - [`guard`]: rate limits, the failed-auth gate, replay protection.
//! - [`template`]: prompt rendering and the untrusted-input fence.
//! - [`server`]: the HTTP routes and the validation order ([`serve`]).
//! - [`dispatch`]: accepted calls into the agent's core (`wake`, `cron_task`).

pub mod auth;
pub mod dispatch;
pub mod guard;
pub mod hook;
pub mod manage;
pub mod server;
pub mod settings;
pub mod store;
pub mod template;

pub use crate::listen::Server;
pub use auth::{TestRequest, test_request};
pub use dispatch::CoreDispatch;
pub use hook::{HmacAlgorithm, HmacAuth, Hook, HookAuth, HookMode, SigEncoding};
pub use manage::{HookChanges, NewHook};
pub use server::{SettingsSource, serve};
pub use settings::WebhookSettings;
pub use store::{HookError, HookStore};

use serde_json::{Map, Value};
use std::fmt;
use tokio::net::TcpListener;

/// Where accepted webhook calls go. Must return quickly; the work runs elsewhere.
pub trait Dispatch: Send + Sync + fmt::Debug + 'static {
    /// Hands over an accepted call of `hook` with its rendered, fenced `prompt`;
    /// `done` must be called once with the run's error (None = success) for the bookkeeping.
    fn dispatch(&self, hook: Hook, prompt: String, done: Done);
}

/// The end of one dispatched run: [`Done::finish`] records it (`trigger_count`,
/// `last_triggered_at`, `last_error` in `webhooks.json`). Dropping it unfinished
/// records the error "the run ended without a result".
pub struct Done {
    finish: Option<Box<dyn FnOnce(Option<String>) + Send>>,
}

impl Done {
    /// A `Done` that calls `f` with the run's error.
    pub fn new(f: impl FnOnce(Option<String>) + Send + 'static) -> Self {
        Self {
            finish: Some(Box::new(f)),
        }
    }

    /// Reports the end of the run: `None` on success, else a short error.
    pub fn finish(mut self, error: Option<String>) {
        if let Some(f) = self.finish.take() {
            f(error);
        }
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            f(Some("the run ended without a result".to_owned()));
        }
    }
}

impl fmt::Debug for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.finish.is_some() {
            "Done(pending)"
        } else {
            "Done(finished)"
        })
    }
}

/// Errors starting the server.
pub type WebhookError = crate::listen::BindError;

/// Binds the server's socket, so that a taken port is a clear error before anything
/// else starts. Port 0 picks a free port.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, WebhookError> {
    crate::listen::bind("webhooks", host, port, false).await
}

/// Gives the `webhooks` config block (not the whole config) a random url-safe
/// token when its `token` is empty, and returns it for the caller to persist;
/// `None` when a token was already set (or no randomness was available: the
/// empty token then refuses every bearer call that relies on it).
pub fn ensure_token(block: &mut Value) -> Option<String> {
    let set = block
        .get("token")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.trim().is_empty());
    if set {
        return None;
    }
    let token = match store::generate_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("webhooks: {e}");
            return None;
        }
    };
    if !block.is_object() {
        *block = Value::Object(Map::new());
    }
    if let Value::Object(map) = block {
        map.insert("token".to_owned(), Value::String(token.clone()));
    }
    crate::logging::register_secret(&token);
    Some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::{Arc, Mutex};

    #[test]
    fn ensure_token_fills_only_an_empty_token() {
        let mut block = json!({"enabled": true, "token": " "});
        let token = ensure_token(&mut block).unwrap();
        assert_eq!(token.len(), 43, "32 bytes, base64 url-safe without padding");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(block["token"], token.as_str());
        assert_eq!(block["enabled"], true);
        assert_eq!(ensure_token(&mut block), None);
        let mut other = Value::Null;
        let second = ensure_token(&mut other).unwrap();
        assert_ne!(second, token);
        assert_eq!(other["token"], second.as_str());
    }

    #[test]
    fn done_reports_once_and_a_dropped_one_reports_an_error() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = |seen: &Arc<Mutex<Vec<Option<String>>>>| {
            let seen = seen.clone();
            Done::new(move |e| seen.lock().unwrap().push(e))
        };
        sink(&seen).finish(None);
        sink(&seen).finish(Some("boom".into()));
        drop(sink(&seen));
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                None,
                Some("boom".into()),
                Some("the run ended without a result".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_named() {
        let first = bind("127.0.0.1", 0).await.unwrap();
        let port = first.local_addr().unwrap().port();
        let err = bind("127.0.0.1", port).await.unwrap_err();
        assert!(matches!(err, WebhookError::PortTaken { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("webhooks: 127.0.0.1:{port} is already in use")
        );
    }
}
