//! Logging in and the store (§11): the stored session in `credentials.json` first, then
//! the configured `access_token` + `device_id`, then the password — and a password login
//! reuses the stored device id, so a start never makes a new device (a new device cannot
//! read earlier encrypted messages). The SDK's sqlite state and crypto store lives in
//! `matrix_store/sdk/`, encrypted with a passphrase from the agent's `.env`
//! ([`PASSPHRASE_VAR`], generated on first use); the folder is private to the user.

use super::settings::MatrixSettings;
use crate::paths::AgentPaths;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::encryption::{BackupDownloadStrategy, EncryptionSettings};
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `.env` key of the store passphrase (never passed on to a CLI).
pub const PASSPHRASE_VAR: &str = "DUCTOR_MATRIX_STORE_PASSPHRASE";

/// Why the bot could not log in.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The server refused every way we have to log in.
    #[error("the Matrix server refused the login of {user}: {reason}")]
    Refused {
        /// The account.
        user: String,
        /// The last refusal.
        reason: String,
    },
    /// The server cannot be reached (the caller retries).
    #[error("cannot reach the Matrix server: {0}")]
    Unreachable(String),
    /// The store or its folder cannot be used.
    #[error("the Matrix store at {path} cannot be used: {reason}")]
    Store {
        /// The folder.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// `credentials.json`: the original's file (mode 0600).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The bot's user id.
    pub user_id: String,
    /// Its device.
    pub device_id: String,
    /// Its access token.
    pub access_token: String,
}

/// A logged-in client.
#[derive(Debug)]
pub struct Session {
    /// The client.
    pub client: Client,
    /// Whether this start logged in with the password (a fresh login).
    pub fresh: bool,
}

/// The store folder layout.
#[derive(Debug, Clone)]
pub struct StoreDir {
    /// `matrix_store/`.
    pub root: PathBuf,
}

impl StoreDir {
    /// The store of `settings` for the agent at `paths`.
    pub fn new(paths: &AgentPaths, settings: &MatrixSettings) -> Self {
        Self {
            root: paths.matrix_store_dir(&settings.store_path),
        }
    }

    /// `credentials.json`.
    pub fn credentials(&self) -> PathBuf {
        self.root.join("credentials.json")
    }

    /// `next_batch` (the sync token).
    pub fn next_batch(&self) -> PathBuf {
        self.root.join("next_batch")
    }

    /// `room_id_map.json`.
    pub fn room_map(&self) -> PathBuf {
        self.root.join("room_id_map.json")
    }

    /// The SDK's sqlite stores.
    pub fn sdk(&self) -> PathBuf {
        self.root.join("sdk")
    }

    /// Creates the folders, private to the user.
    pub fn prepare(&self) -> Result<(), LoginError> {
        use std::os::unix::fs::PermissionsExt;
        for dir in [&self.root, &self.sdk()] {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                })
                .map_err(|e| LoginError::Store {
                    path: dir.display().to_string(),
                    reason: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Makes every file of the SDK store private (sqlite creates them with the umask).
    pub fn tighten(&self) {
        use std::os::unix::fs::PermissionsExt;
        let Ok(entries) = std::fs::read_dir(self.sdk()) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600));
            }
        }
    }
}

/// The store passphrase from the agent's `.env` (or ductor's environment); generated
/// and appended to `.env` when there is none.
pub fn store_passphrase(env_file: &Path) -> Result<String, LoginError> {
    if let Ok(p) = std::env::var(PASSPHRASE_VAR)
        && !p.trim().is_empty()
    {
        return Ok(p);
    }
    if let Some(p) = crate::config::env_file::load(env_file).remove(PASSPHRASE_VAR)
        && !p.trim().is_empty()
    {
        return Ok(p);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| LoginError::Store {
        path: env_file.display().to_string(),
        reason: format!("no randomness for a passphrase: {e}"),
    })?;
    let passphrase = bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    let mut text = std::fs::read_to_string(env_file).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let _ = write!(
        text,
        "# The Matrix store's passphrase (generated by ductor; losing it means a new device).\n{PASSPHRASE_VAR}={passphrase}\n"
    );
    crate::store::write_atomic(env_file, text.as_bytes()).map_err(|e| LoginError::Store {
        path: env_file.display().to_string(),
        reason: e.to_string(),
    })?;
    tracing::info!("generated the Matrix store passphrase into .env");
    Ok(passphrase)
}

/// Builds a client over the store (no login yet).
async fn build(
    settings: &MatrixSettings,
    store: &StoreDir,
    passphrase: &str,
) -> Result<Client, LoginError> {
    Client::builder()
        .homeserver_url(&settings.homeserver)
        // Small sqlite pools and caches: an agent idles most of the time, and every
        // connection of the four stores would otherwise keep its own 2 MB cache.
        .sqlite_store_with_config_and_cache_path(
            matrix_sdk::SqliteStoreConfig::with_low_memory_config(store.sdk())
                .pool_max_size(2)
                .cache_size(256 * 1024)
                .passphrase(Some(passphrase)),
            None::<&Path>,
        )
        .request_config(
            RequestConfig::new()
                .retry_limit(6)
                .timeout(Duration::from_mins(1)),
        )
        .with_encryption_settings(EncryptionSettings {
            auto_enable_cross_signing: true,
            backup_download_strategy: BackupDownloadStrategy::AfterDecryptionFailure,
            auto_enable_backups: false,
        })
        .build()
        .await
        .map_err(|e| LoginError::Store {
            path: store.sdk().display().to_string(),
            reason: e.to_string(),
        })
}

fn session_of(c: &Credentials) -> Option<MatrixSession> {
    Some(MatrixSession {
        meta: SessionMeta {
            user_id: c.user_id.as_str().try_into().ok()?,
            device_id: c.device_id.as_str().into(),
        },
        tokens: SessionTokens {
            access_token: c.access_token.clone(),
            refresh_token: None,
        },
    })
}

/// Whether an error means "this token is no good" (as opposed to "try later").
fn refused(e: &matrix_sdk::HttpError) -> bool {
    matches!(
        e.client_api_error_kind(),
        Some(ErrorKind::UnknownToken(_) | ErrorKind::MissingToken | ErrorKind::Forbidden)
    )
}

/// Restores `creds` and checks the token with `whoami`: `Ok(false)` when the server
/// refuses it.
async fn try_restore(client: &Client, creds: &Credentials) -> Result<bool, LoginError> {
    let Some(session) = session_of(creds) else {
        return Ok(false);
    };
    if let Err(e) = client
        .matrix_auth()
        .restore_session(session, matrix_sdk::store::RoomLoadSettings::default())
        .await
    {
        tracing::warn!(error = %e, "cannot restore the stored Matrix session");
        return Ok(false);
    }
    match client.whoami().await {
        Ok(_) => Ok(true),
        Err(e) if refused(&e) => Ok(false),
        Err(e) => Err(LoginError::Unreachable(e.to_string())),
    }
}

fn save_credentials(store: &StoreDir, client: &Client) {
    let Some(s) = client.matrix_auth().session() else {
        return;
    };
    let creds = Credentials {
        user_id: s.meta.user_id.to_string(),
        device_id: s.meta.device_id.to_string(),
        access_token: s.tokens.access_token,
    };
    if let Err(e) = crate::store::write_json(&store.credentials(), &creds) {
        tracing::warn!(error = %e, "cannot save the Matrix credentials");
    }
}

/// Moves the SDK store aside (it belongs to another device or cannot be opened).
fn move_store_aside(store: &StoreDir) {
    let aside = store.root.join(format!(
        "sdk.old-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S")
    ));
    if let Err(e) = std::fs::rename(store.sdk(), &aside) {
        tracing::warn!(error = %e, "cannot move the Matrix store aside");
    } else {
        tracing::warn!(to = %aside.display(), "the Matrix store belonged to another login; moved aside");
    }
    let _ = store.prepare();
}

/// Logs in (see the module doc).
pub async fn login(
    settings: &MatrixSettings,
    store: &StoreDir,
    passphrase: &str,
) -> Result<Session, LoginError> {
    store.prepare()?;
    let stored: Option<Credentials> = crate::store::read_json_strict(&store.credentials())
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "credentials.json is unreadable; ignoring it");
            None
        })
        .filter(|c: &Credentials| c.user_id == settings.user_id);
    let configured =
        (!settings.access_token.is_empty() && !settings.device_id.is_empty()).then(|| {
            Credentials {
                user_id: settings.user_id.clone(),
                device_id: settings.device_id.clone(),
                access_token: settings.access_token.expose().to_owned(),
            }
        });
    for creds in stored.iter().chain(configured.iter()) {
        let client = build(settings, store, passphrase).await?;
        if try_restore(&client, creds).await? {
            save_credentials(store, &client);
            store.tighten();
            return Ok(Session {
                client,
                fresh: false,
            });
        }
        tracing::warn!(device = %creds.device_id, "a stored Matrix login was refused");
    }
    if settings.password.is_empty() {
        return Err(LoginError::Refused {
            user: settings.user_id.clone(),
            reason: "the access token was refused and no password is set (set matrix.password)"
                .into(),
        });
    }
    let device = stored
        .as_ref()
        .or(configured.as_ref())
        .map(|c| c.device_id.clone());
    password_login(settings, store, passphrase, device.as_deref()).await
}

async fn password_login(
    settings: &MatrixSettings,
    store: &StoreDir,
    passphrase: &str,
    device: Option<&str>,
) -> Result<Session, LoginError> {
    let mut moved = false;
    loop {
        let client = build(settings, store, passphrase).await?;
        let mut req = client
            .matrix_auth()
            .login_username(&settings.user_id, settings.password.expose())
            .initial_device_display_name("ductor");
        if let Some(d) = device {
            req = req.device_id(d);
        }
        match req.send().await {
            Ok(_) => {
                save_credentials(store, &client);
                store.tighten();
                return Ok(Session {
                    client,
                    fresh: true,
                });
            }
            Err(e) => {
                let refused = e.client_api_error_kind().is_some();
                if refused {
                    return Err(LoginError::Refused {
                        user: settings.user_id.clone(),
                        reason: e.to_string(),
                    });
                }
                if matches!(e, matrix_sdk::Error::Http(_)) {
                    return Err(LoginError::Unreachable(e.to_string()));
                }
                if moved {
                    return Err(LoginError::Store {
                        path: store.sdk().display().to_string(),
                        reason: e.to_string(),
                    });
                }
                // The store holds another account or device: start it afresh.
                move_store_aside(store);
                moved = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passphrase_is_generated_once_into_env() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "OPENAI_API_KEY=x").unwrap();
        let first = store_passphrase(&env).unwrap();
        assert_eq!(first.len(), 64);
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(text.starts_with("OPENAI_API_KEY=x\n"), "{text}");
        assert_eq!(store_passphrase(&env).unwrap(), first);
    }
}
