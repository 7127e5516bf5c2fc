//! Request parameters as the Bot API accepts them: JSON body, form-urlencoded, multipart, or query
//! string, all folded into one map with typed, never-panicking accessors.
//!
//! Form and multipart values are strings; the accessors accept both shapes (a JSON number or a
//! decimal string, an object or a JSON-encoded string), as Telegram does.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::ApiError;

/// A file part of a multipart request.
#[derive(Clone, Debug)]
pub struct FilePart {
    /// `filename` from Content-Disposition (may be empty: teloxide sends `""` for unnamed memory files).
    pub file_name: Option<String>,
    /// The part's own Content-Type header, if any.
    pub content_type: Option<String>,
    /// The bytes received.
    pub data: Bytes,
}

/// All parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// Scalar and JSON parameters by name.
    pub fields: Map<String, Value>,
    /// Multipart parts that carry a file name (or cannot be text), by part name.
    pub parts: HashMap<String, FilePart>,
}

/// `chat_id` as sent: a number or an `@username`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatRef {
    /// Numeric chat id.
    Id(i64),
    /// `@username` of a public chat.
    Username(String),
}

impl Params {
    /// Parse the body according to its content type and merge the query string under it.
    pub async fn decode(
        content_type: Option<&str>,
        query: &str,
        body: Bytes,
    ) -> Result<Self, ApiError> {
        let mut params = Self::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            params
                .fields
                .insert(k.into_owned(), Value::String(v.into_owned()));
        }
        let content_type = content_type.unwrap_or("").to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            params.decode_multipart(content_type.as_str(), body).await?;
        } else if content_type.starts_with("application/json") {
            if !body.iter().all(u8::is_ascii_whitespace) {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(map)) => params.fields.extend(map),
                    Ok(_) | Err(_) => {
                        return Err(ApiError::bad_request("can't parse JSON object"));
                    }
                }
            }
        } else {
            // Telegram treats anything else as application/x-www-form-urlencoded.
            for (k, v) in form_urlencoded::parse(&body) {
                params
                    .fields
                    .insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        Ok(params)
    }

    async fn decode_multipart(&mut self, content_type: &str, body: Bytes) -> Result<(), ApiError> {
        let malformed = || ApiError::bad_request("can't parse multipart/form-data request");
        let boundary = multer::parse_boundary(content_type).map_err(|_| malformed())?;
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        while let Some(field) = multipart.next_field().await.map_err(|_| malformed())? {
            let Some(name) = field.name().map(str::to_owned) else {
                continue;
            };
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let data = field.bytes().await.map_err(|_| malformed())?;
            match (&file_name, std::str::from_utf8(&data)) {
                (None, Ok(text)) => {
                    self.fields.insert(name, Value::String(text.to_owned()));
                }
                _ => {
                    self.parts.insert(
                        name,
                        FilePart {
                            file_name,
                            content_type,
                            data,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The raw value, treating JSON `null` as absent.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    /// Whether a (non-null) parameter is present.
    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// A string parameter (numbers and booleans are rendered as text, as Telegram reads them).
    pub fn opt_str(&self, name: &str) -> Option<String> {
        match self.raw(name)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// An integer parameter; a non-integer value is a 400.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let invalid = || ApiError::bad_request(format!("invalid {name} specified"));
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(invalid),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| invalid()),
            Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(_) => Err(invalid()),
        }
    }

    /// An integer parameter that must be present; `missing` is the full 400 detail.
    pub fn req_i64(&self, name: &str, missing: &str) -> Result<i64, ApiError> {
        self.opt_i64(name)?
            .ok_or_else(|| ApiError::bad_request(missing))
    }

    /// A message id parameter (`message_id` by default).
    pub fn message_id(&self, name: &str) -> Result<i32, ApiError> {
        let id = self.req_i64(name, "message identifier is not specified")?;
        i32::try_from(id).map_err(|_| ApiError::bad_request(format!("invalid {name} specified")))
    }

    /// An optional 32-bit id (e.g. `message_thread_id`).
    pub fn opt_i32(&self, name: &str) -> Result<Option<i32>, ApiError> {
        match self.opt_i64(name)? {
            None => Ok(None),
            Some(v) => i32::try_from(v)
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid {name} specified"))),
        }
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`, any case).
    pub fn opt_bool(&self, name: &str) -> bool {
        match self.raw(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64().is_some_and(|v| v != 0),
            Some(Value::String(s)) => {
                matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1")
            }
            _ => false,
        }
    }

    /// A JSON parameter: an object/array, or a string holding one. `what` names it in the 400.
    pub fn opt_json(&self, name: &str, what: &str) -> Result<Option<Value>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                .map(|v| if v.is_null() { None } else { Some(v) })
                .map_err(|_| ApiError::bad_request(format!("can't parse {what} JSON object"))),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// `chat_id`: required, a number or `@username`.
    pub fn chat(&self) -> Result<ChatRef, ApiError> {
        match self.raw("chat_id") {
            None => Err(ApiError::bad_request("chat_id is empty")),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(ChatRef::Id)
                .ok_or_else(|| ApiError::bad_request("chat not found")),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Err(ApiError::bad_request("chat_id is empty"))
                } else if let Some(name) = s.strip_prefix('@') {
                    Ok(ChatRef::Username(name.to_owned()))
                } else {
                    s.parse::<i64>()
                        .map(ChatRef::Id)
                        .map_err(|_| ApiError::bad_request("chat not found"))
                }
            }
            Some(_) => Err(ApiError::bad_request("chat not found")),
        }
    }

    /// A copy of the scalar/JSON fields for the call log (file parts are not included).
    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }
}
