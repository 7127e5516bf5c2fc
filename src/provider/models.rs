//! Model catalogue per provider: which model names exist, their reasoning efforts,
//! the default model, and which provider runs a given model name.
//!
//! Sources (all read from paths handed in; no global state, no CLI spawned):
//! - claude: a static list ([`CLAUDE_MODELS`]) plus any `claude-*` id, efforts
//!   [`CLAUDE_EFFORTS`];
//! - codex: ductor's own cache `config/codex_models.json` ([`CodexModelCache`], written
//!   by ductor's discovery through `codex app-server` `model/list`, see
//!   [`super::discover`], which also replaces the list while the agent runs:
//!   [`CodexModels`]), else the cache the
//!   codex CLI itself keeps in `$CODEX_HOME/models_cache.json` (written when codex is
//!   signed in with `codex login`; the same `{"models":[{"slug", "display_name",
//!   "supported_reasoning_levels":[{"effort"}], "default_reasoning_level",
//!   "visibility", "priority"}]}` shape that `codex debug models` prints), else
//!   [`CODEX_FALLBACK_MODELS`];
//! - gemini: aliases [`GEMINI_ALIASES`] plus the ids in the installed package's
//!   `VALID_GEMINI_MODELS` set ([`discover_gemini_models`]), else
//!   [`GEMINI_FALLBACK_MODELS`]. Gemini has no effort setting.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use super::ProviderKind;

/// Claude model aliases `claude --model` accepts.
pub const CLAUDE_MODELS: [&str; 6] = ["haiku", "sonnet", "sonnet[1m]", "opus", "opus[1m]", "fable"];
/// Claude `--effort` values.
pub const CLAUDE_EFFORTS: [&str; 5] = ["low", "medium", "high", "xhigh", "max"];
/// Claude model used when none is configured.
pub const CLAUDE_DEFAULT_MODEL: &str = "sonnet";
/// Codex models used when no cache has any (the first is the default).
pub const CODEX_FALLBACK_MODELS: [&str; 4] =
    ["gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.3-codex-spark"];
/// Codex efforts of a model whose cache entry lists none.
pub const CODEX_FALLBACK_EFFORTS: [&str; 4] = ["low", "medium", "high", "xhigh"];
/// Gemini model aliases `gemini -m` accepts.
pub const GEMINI_ALIASES: [&str; 4] = ["auto", "pro", "flash", "flash-lite"];
/// Gemini models used when the installed package could not be scanned.
pub const GEMINI_FALLBACK_MODELS: [&str; 6] = [
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-3-pro-preview",
    "gemini-3.1-flash-lite",
    "gemini-3.1-pro-preview",
    "gemini-3.5-flash",
];

/// Errors reading a model cache file.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// The file could not be read.
    #[error("cannot read model cache {path}: {source}")]
    Read {
        /// The cache file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("invalid model cache {path}: {source}")]
    Parse {
        /// The cache file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

/// One codex model as ductor stores it in `config/codex_models.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodexModel {
    /// Model id passed to `codex -m`.
    pub id: String,
    /// Name shown in menus.
    #[serde(default)]
    pub display_name: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// Values accepted for `-c model_reasoning_effort=…`.
    #[serde(default)]
    pub supported_efforts: Vec<String>,
    /// Effort codex uses when none is given.
    #[serde(default)]
    pub default_effort: Option<String>,
    /// Whether this is codex's default model.
    #[serde(default)]
    pub is_default: bool,
}

impl CodexModel {
    fn fallback(id: &str, is_default: bool) -> Self {
        CodexModel {
            id: id.to_owned(),
            display_name: id.to_owned(),
            description: String::new(),
            supported_efforts: CODEX_FALLBACK_EFFORTS.map(str::to_owned).to_vec(),
            default_effort: Some("medium".to_owned()),
            is_default,
        }
    }
}

/// ductor's codex model cache file (`config/codex_models.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodexModelCache {
    /// When the list was discovered (RFC 3339).
    pub last_updated: String,
    /// The models, in menu order.
    pub models: Vec<CodexModel>,
}

/// Reads ductor's codex model cache; `Ok(None)` when the file does not exist.
pub fn read_codex_cache(path: &Path) -> Result<Option<CodexModelCache>, ModelsError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| ModelsError::Parse {
            path: path.to_owned(),
            source,
        })
}

impl CodexModelCache {
    /// A cache of `models` discovered at `now`.
    pub fn new(models: Vec<CodexModel>, now: chrono::DateTime<chrono::Utc>) -> Self {
        CodexModelCache {
            last_updated: now.to_rfc3339(),
            models,
        }
    }

    /// How old the cache is at `now`; `None` when `last_updated` is unreadable or
    /// lies in the future (such a cache counts as stale).
    pub fn age(&self, now: chrono::DateTime<chrono::Utc>) -> Option<std::time::Duration> {
        let at = chrono::DateTime::parse_from_rfc3339(&self.last_updated).ok()?;
        (now - at.with_timezone(&chrono::Utc)).to_std().ok()
    }
}

/// Writes ductor's codex model cache (atomically, private to the user).
pub fn write_codex_cache(
    path: &Path,
    cache: &CodexModelCache,
) -> Result<(), crate::store::StoreError> {
    crate::store::write_json(path, cache)
}

/// The codex CLI's own `models_cache.json` entry (only the fields ductor uses).
#[derive(Deserialize)]
struct CliModel {
    slug: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default_reasoning_level: Option<String>,
    #[serde(default)]
    supported_reasoning_levels: Vec<CliEffort>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    priority: Option<i64>,
}

#[derive(Deserialize)]
struct CliEffort {
    effort: String,
}

#[derive(Deserialize)]
struct CliModels {
    models: Vec<CliModel>,
}

/// Reads the cache the codex CLI keeps in `<codex_home>/models_cache.json` (or any
/// file of that shape, e.g. the output of `codex debug models`). Hidden models are
/// left out; the rest is ordered by codex's `priority`, and the first one is marked
/// default. `Ok(None)` when the file does not exist.
pub fn read_codex_cli_cache(path: &Path) -> Result<Option<Vec<CodexModel>>, ModelsError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let parsed: CliModels = serde_json::from_str(&text).map_err(|source| ModelsError::Parse {
        path: path.to_owned(),
        source,
    })?;
    let mut listed: Vec<CliModel> = parsed
        .models
        .into_iter()
        .filter(|m| m.visibility.as_deref().is_none_or(|v| v == "list"))
        .collect();
    listed.sort_by_key(|m| m.priority.unwrap_or(i64::MAX));
    Ok(Some(
        listed
            .into_iter()
            .enumerate()
            .map(|(i, m)| CodexModel {
                display_name: m.display_name.unwrap_or_else(|| m.slug.clone()),
                id: m.slug,
                description: m.description.unwrap_or_default(),
                supported_efforts: m
                    .supported_reasoning_levels
                    .into_iter()
                    .map(|e| e.effort)
                    .collect(),
                default_effort: m.default_reasoning_level,
                is_default: i == 0,
            })
            .collect(),
    ))
}

/// Codex models from the first non-empty source: ductor's cache at
/// `ductor_cache`, the codex CLI's `<codex_home>/models_cache.json`, the fallback
/// list. Unreadable caches are logged and skipped.
pub fn codex_models(ductor_cache: &Path, codex_home: &Path) -> Vec<CodexModel> {
    match read_codex_cache(ductor_cache) {
        Ok(Some(cache)) if !cache.models.is_empty() => return cache.models,
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "ignoring ductor's codex model cache"),
    }
    match read_codex_cli_cache(&codex_home.join("models_cache.json")) {
        Ok(Some(models)) if !models.is_empty() => return models,
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "ignoring codex's model cache"),
    }
    codex_fallback_models()
}

/// The hard-coded codex list (gpt-5.5 is the default).
pub fn codex_fallback_models() -> Vec<CodexModel> {
    CODEX_FALLBACK_MODELS
        .iter()
        .enumerate()
        .map(|(i, id)| CodexModel::fallback(id, i == 0))
        .collect()
}

fn read_optional(path: &Path) -> Result<Option<String>, ModelsError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ModelsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The installed `@google/gemini-cli` package directory for a `gemini` executable
/// (npm's `bin/gemini` links to `<package>/bundle/gemini.js`).
pub fn gemini_package_dir(binary: &Path) -> Option<PathBuf> {
    let real = fs::canonicalize(binary).ok()?;
    real.ancestors()
        .skip(1)
        .take(3)
        .find(|dir| dir.join("package.json").is_file())
        .map(Path::to_path_buf)
}

/// Model ids of the installed gemini-cli package at `package_dir`, read from its
/// `VALID_GEMINI_MODELS` set without running node: the bundle files
/// (`bundle/*.js`) or, for unbundled installs, `gemini-cli-core`'s
/// `dist/src/config/models.js`. Identifiers in the set are resolved through their
/// nearest `var|let|const NAME = "…"` declaration (following aliases). Only
/// `gemini-*` / `gemma-*` ids are kept. Empty when nothing was found.
pub fn discover_gemini_models(package_dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = fs::read_dir(package_dir.join("bundle"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    for core in [
        "node_modules/@google/gemini-cli-core/dist/src/config/models.js",
        "../gemini-cli-core/dist/src/config/models.js",
    ] {
        files.push(package_dir.join(core));
    }
    let mut found: Vec<String> = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for id in scan_valid_gemini_models(&text) {
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    found
}

/// Extracts the ids of every `VALID_GEMINI_MODELS = new Set([...])` in a JS source.
fn scan_valid_gemini_models(text: &str) -> Vec<String> {
    const MARKER: &str = "VALID_GEMINI_MODELS";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(MARKER) {
        let at = from + pos;
        from = at + MARKER.len();
        let rest = &text[from..];
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(open) = rest.find("new Set([") else {
            continue;
        };
        // The declaration must follow directly (allowing a `/* @__PURE__ */` comment).
        if rest[..open].trim().len() > 20 {
            continue;
        }
        let body = &rest[open + "new Set([".len()..];
        let Some(close) = body.find("])") else {
            continue;
        };
        for entry in body[..close].split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if let Some(id) = resolve_js_value(&text[..at], entry, 0)
                && (id.starts_with("gemini-") || id.starts_with("gemma-"))
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
    }
    out
}

/// A string literal, or the value of the nearest preceding declaration of an
/// identifier (aliases followed up to a few levels).
fn resolve_js_value(before: &str, expr: &str, depth: usize) -> Option<String> {
    if let Some(lit) = js_string_literal(expr) {
        return Some(lit);
    }
    if depth > 5
        || !expr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return None;
    }
    for keyword in ["var ", "const ", "let "] {
        let needle = format!("{keyword}{expr} = ");
        if let Some(pos) = before.rfind(&needle) {
            let value_start = pos + needle.len();
            let value = before[value_start..]
                .split([';', '\n'])
                .next()
                .unwrap_or_default()
                .trim();
            return resolve_js_value(&before[..pos], value, depth + 1);
        }
    }
    None
}

fn js_string_literal(expr: &str) -> Option<String> {
    let quote = expr
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\'' | '`'))?;
    let inner = expr.strip_prefix(quote)?.strip_suffix(quote)?;
    (!inner.contains(quote) && !inner.contains('\\')).then(|| inner.to_owned())
}

/// The codex model list of a running agent: the discovery observer
/// ([`super::discover`]) replaces it while readers keep using the snapshot they
/// took, so `/model`, effort checks and `@model` directives follow a refresh
/// without a restart.
#[derive(Debug, Default)]
pub struct CodexModels(RwLock<Arc<Vec<CodexModel>>>);

impl CodexModels {
    /// A list holding `models`.
    pub fn new(models: Vec<CodexModel>) -> Self {
        CodexModels(RwLock::new(Arc::new(models)))
    }

    /// The current list.
    pub fn snapshot(&self) -> Arc<Vec<CodexModel>> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the list; an empty `models` is ignored (a discovery that found
    /// nothing never empties the menu). Returns whether the list changed.
    pub fn replace(&self, models: Vec<CodexModel>) -> bool {
        if models.is_empty() {
            return false;
        }
        let mut current = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if **current == models {
            return false;
        }
        *current = Arc::new(models);
        true
    }

    /// How many models the list has.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.snapshot().is_empty()
    }
}

impl Clone for CodexModels {
    /// An independent list with the same models.
    fn clone(&self) -> Self {
        CodexModels(RwLock::new(self.snapshot()))
    }
}

impl PartialEq for CodexModels {
    fn eq(&self, other: &Self) -> bool {
        self.snapshot() == other.snapshot()
    }
}

impl Eq for CodexModels {}

/// Every model ductor knows, per provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCatalogue {
    /// Codex models (discovered, from a cache or the fallback list); refreshable.
    pub codex: CodexModels,
    /// Gemini model ids (discovered or the fallback list); the aliases are implied.
    pub gemini: Vec<String>,
}

impl Default for ModelCatalogue {
    fn default() -> Self {
        ModelCatalogue::new(codex_fallback_models(), Vec::new())
    }
}

impl ModelCatalogue {
    /// Builds the catalogue; an empty `codex` or `gemini_discovered` means the
    /// fallback list.
    pub fn new(codex: Vec<CodexModel>, gemini_discovered: Vec<String>) -> Self {
        let codex = if codex.is_empty() {
            codex_fallback_models()
        } else {
            codex
        };
        let gemini = if gemini_discovered.is_empty() {
            GEMINI_FALLBACK_MODELS.map(str::to_owned).to_vec()
        } else {
            gemini_discovered
        };
        ModelCatalogue {
            codex: CodexModels::new(codex),
            gemini,
        }
    }

    /// The current codex models, in menu order.
    pub fn codex_models(&self) -> Arc<Vec<CodexModel>> {
        self.codex.snapshot()
    }

    /// Replaces the codex models (ignored when `models` is empty); returns whether
    /// the list changed.
    pub fn set_codex_models(&self, models: Vec<CodexModel>) -> bool {
        self.codex.replace(models)
    }

    /// Model names of `provider`, in menu order (gemini: aliases first).
    pub fn models(&self, provider: ProviderKind) -> Vec<String> {
        match provider {
            ProviderKind::Claude => CLAUDE_MODELS.map(str::to_owned).to_vec(),
            ProviderKind::Codex => self.codex_models().iter().map(|m| m.id.clone()).collect(),
            ProviderKind::Gemini => GEMINI_ALIASES
                .iter()
                .map(|a| (*a).to_owned())
                .chain(self.gemini.iter().cloned())
                .collect(),
        }
    }

    /// Known model names per provider (what `@model` directives recognise).
    pub fn known_ids(&self) -> BTreeMap<ProviderKind, Vec<String>> {
        ProviderKind::ALL
            .iter()
            .map(|p| (*p, self.models(*p)))
            .collect()
    }

    /// Whether `model` is a known name of `provider` (case-insensitive; any
    /// `claude-*` id counts for claude).
    pub fn contains(&self, provider: ProviderKind, model: &str) -> bool {
        let model = model.trim();
        let is = |m: &str| m.eq_ignore_ascii_case(model);
        // By reference: asked per message (directives), so no list is built.
        match provider {
            ProviderKind::Claude => {
                model.to_ascii_lowercase().starts_with("claude-")
                    || CLAUDE_MODELS.iter().any(|m| is(m))
            }
            ProviderKind::Codex => self.codex_models().iter().any(|m| is(&m.id)),
            ProviderKind::Gemini => {
                GEMINI_ALIASES.iter().any(|m| is(m)) || self.gemini.iter().any(|m| is(m))
            }
        }
    }

    /// The provider's default model: claude [`CLAUDE_DEFAULT_MODEL`], codex the
    /// list's default (else its first model), gemini none (the CLI picks, `auto`).
    pub fn default_model(&self, provider: ProviderKind) -> Option<String> {
        match provider {
            ProviderKind::Claude => Some(CLAUDE_DEFAULT_MODEL.to_owned()),
            ProviderKind::Codex => {
                let codex = self.codex_models();
                codex
                    .iter()
                    .find(|m| m.is_default)
                    .or_else(|| codex.first())
                    .map(|m| m.id.clone())
            }
            ProviderKind::Gemini => None,
        }
    }

    /// Reasoning efforts `model` of `provider` accepts (empty for gemini).
    pub fn efforts(&self, provider: ProviderKind, model: &str) -> Vec<String> {
        let owned = |list: &[&str]| list.iter().map(|e| (*e).to_owned()).collect();
        match provider {
            ProviderKind::Claude => owned(&CLAUDE_EFFORTS),
            ProviderKind::Gemini => Vec::new(),
            ProviderKind::Codex => match self
                .codex_models()
                .iter()
                .find(|m| m.id.eq_ignore_ascii_case(model.trim()))
            {
                Some(m) if !m.supported_efforts.is_empty() => m.supported_efforts.clone(),
                _ => owned(&CODEX_FALLBACK_EFFORTS),
            },
        }
    }
}

/// The models the agent at `paths` can offer: codex from ductor's or codex's own
/// cache (else the fallback list), gemini from the installed package (else the
/// fallback list).
pub fn catalogue_for(paths: &crate::paths::AgentPaths) -> ModelCatalogue {
    let home = crate::paths::user_home();
    let codex_home = std::env::var_os("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| home.join(".codex"), PathBuf::from);
    let codex = codex_models(&paths.codex_models_cache(), &codex_home);
    let path = std::env::var("PATH").unwrap_or_default();
    let gemini = super::auth::which("gemini", &path)
        .and_then(|bin| gemini_package_dir(&bin))
        .map(|dir| discover_gemini_models(&dir))
        .unwrap_or_default();
    ModelCatalogue::new(codex, gemini)
}

/// Which provider runs `model`: claude names and `claude-*` → claude; gemini
/// aliases, known gemini models, `gemini-*` and `auto-gemini-*` → gemini; anything
/// else → codex.
pub fn provider_for_model(model: &str, catalogue: &ModelCatalogue) -> ProviderKind {
    let lower = model.trim().to_ascii_lowercase();
    if catalogue.contains(ProviderKind::Claude, &lower) {
        ProviderKind::Claude
    } else if lower.starts_with("gemini-")
        || lower.starts_with("auto-gemini-")
        || catalogue.contains(ProviderKind::Gemini, &lower)
    {
        ProviderKind::Gemini
    } else {
        ProviderKind::Codex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_for_model_table() {
        let cat = ModelCatalogue::new(
            Vec::new(),
            vec!["gemini-3.8-flash".into(), "gemma-4-31b-it".into()],
        );
        let cases = [
            ("opus", ProviderKind::Claude),
            ("Sonnet", ProviderKind::Claude),
            ("sonnet[1m]", ProviderKind::Claude),
            ("haiku", ProviderKind::Claude),
            ("fable", ProviderKind::Claude),
            ("claude-opus-4-8", ProviderKind::Claude),
            ("auto", ProviderKind::Gemini),
            ("flash-lite", ProviderKind::Gemini),
            ("gemini-2.5-pro", ProviderKind::Gemini),
            ("auto-gemini-3", ProviderKind::Gemini),
            ("gemma-4-31b-it", ProviderKind::Gemini),
            ("gpt-5.5", ProviderKind::Codex),
            ("o3", ProviderKind::Codex),
            ("something-new", ProviderKind::Codex),
            ("", ProviderKind::Codex),
        ];
        for (model, want) in cases {
            assert_eq!(provider_for_model(model, &cat), want, "{model}");
        }
    }

    #[test]
    fn catalogue_defaults_and_efforts() {
        let cat = ModelCatalogue::default();
        assert_eq!(
            cat.default_model(ProviderKind::Codex).as_deref(),
            Some("gpt-5.5")
        );
        assert_eq!(
            cat.default_model(ProviderKind::Claude).as_deref(),
            Some("sonnet")
        );
        assert_eq!(cat.default_model(ProviderKind::Gemini), None);
        assert_eq!(
            cat.models(ProviderKind::Codex),
            ["gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.3-codex-spark"]
        );
        assert_eq!(cat.models(ProviderKind::Gemini)[..4], GEMINI_ALIASES);
        assert!(
            cat.models(ProviderKind::Gemini)
                .iter()
                .any(|m| m == "gemini-3.5-flash")
        );
        assert_eq!(cat.efforts(ProviderKind::Claude, "opus"), CLAUDE_EFFORTS);
        assert_eq!(
            cat.efforts(ProviderKind::Codex, "unknown"),
            CODEX_FALLBACK_EFFORTS
        );
        assert!(cat.efforts(ProviderKind::Gemini, "pro").is_empty());
        assert!(cat.contains(ProviderKind::Claude, "claude-haiku-9"));
        assert!(!cat.contains(ProviderKind::Codex, "opus"));
    }

    #[test]
    fn codex_caches_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let ductor = dir.path().join("codex_models.json");
        let home = dir.path().join("codex-home");
        fs::create_dir(&home).unwrap();
        // Nothing on disk: fallback.
        assert_eq!(codex_models(&ductor, &home), codex_fallback_models());

        // codex's own cache: hidden models dropped, sorted by priority.
        fs::write(
            home.join("models_cache.json"),
            r#"{"fetched_at":"2026-11-21T19:00:00Z","etag":null,"client_version":"0.169.0","models":[
              {"slug":"gpt-5.5","display_name":"GPT-5.5","description":"d","default_reasoning_level":"medium",
               "supported_reasoning_levels":[{"effort":"low","description":"x"},{"effort":"xhigh","description":"y"}],
               "visibility":"list","priority":13,"shell_type":"unified_exec"},
              {"slug":"gpt-6-sol","display_name":"GPT-6-Sol","default_reasoning_level":"low",
               "supported_reasoning_levels":[{"effort":"max"}],"visibility":"list","priority":3},
              {"slug":"codex-auto-review","visibility":"hide","priority":1,"supported_reasoning_levels":[]}
            ]}"#,
        )
        .unwrap();
        let models = codex_models(&ductor, &home);
        let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["gpt-6-sol", "gpt-5.5"]);
        assert!(models[0].is_default && !models[1].is_default);
        assert_eq!(models[1].supported_efforts, ["low", "xhigh"]);
        assert_eq!(models[1].default_effort.as_deref(), Some("medium"));
        assert_eq!(models[1].display_name, "GPT-5.5");

        // ductor's cache wins; it round-trips.
        let cache = CodexModelCache {
            last_updated: "2026-11-21T19:00:00+00:00".into(),
            models: vec![CodexModel {
                id: "gpt-x".into(),
                display_name: "GPT X".into(),
                description: "test".into(),
                supported_efforts: vec!["low".into()],
                default_effort: Some("low".into()),
                is_default: true,
            }],
        };
        fs::write(&ductor, serde_json::to_string_pretty(&cache).unwrap()).unwrap();
        assert_eq!(read_codex_cache(&ductor).unwrap(), Some(cache.clone()));
        assert_eq!(codex_models(&ductor, &home), cache.models);

        // A broken ductor cache falls through to codex's.
        fs::write(&ductor, "{ not json").unwrap();
        assert!(read_codex_cache(&ductor).is_err());
        assert_eq!(codex_models(&ductor, &home)[0].id, "gpt-6-sol");
    }

    #[test]
    fn gemini_models_are_scanned_from_the_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle");
        fs::create_dir(&bundle).unwrap();
        fs::write(dir.path().join("package.json"), "{}").unwrap();
        fs::write(bundle.join("gemini.js"), "import './chunk-A.js';\n").unwrap();
        fs::write(
            bundle.join("chunk-A.js"),
            r#"var PREVIEW_GEMINI_MODEL = "gemini-3-pro-preview";
var DEFAULT_GEMINI_MODEL = "gemini-2.5-pro";
var BASE_GEMINI_FLASH_MODEL = "gemini-3.5-flash";
var DEFAULT_GEMINI_FLASH_MODEL = BASE_GEMINI_FLASH_MODEL;
function setFlashModels(preview, defaultFlash) {
  DEFAULT_GEMINI_FLASH_MODEL = defaultFlash;
}
var PREVIEW_GEMINI_FLASH_LITE_MODEL = "none";
var GEMMA_MODEL = "gemma-4-31b-it";
var VALID_GEMINI_MODELS = /* @__PURE__ */ new Set([
  PREVIEW_GEMINI_MODEL,
  DEFAULT_GEMINI_MODEL,
  DEFAULT_GEMINI_FLASH_MODEL,
  PREVIEW_GEMINI_FLASH_LITE_MODEL,
  BASE_GEMINI_FLASH_MODEL,
  GEMMA_MODEL,
  "gemini-literal",
  UNKNOWN_IDENTIFIER
]);
if (VALID_GEMINI_MODELS.has(x)) {}
"#,
        )
        .unwrap();
        assert_eq!(
            discover_gemini_models(dir.path()),
            [
                "gemini-3-pro-preview",
                "gemini-2.5-pro",
                "gemini-3.5-flash",
                "gemma-4-31b-it",
                "gemini-literal"
            ]
        );
        // Unbundled layout with `export const` and single quotes.
        let core = dir
            .path()
            .join("node_modules/@google/gemini-cli-core/dist/src/config");
        fs::create_dir_all(&core).unwrap();
        fs::write(
            core.join("models.js"),
            "export const PRO = 'gemini-9-pro';\nexport const VALID_GEMINI_MODELS = new Set([PRO]);\n",
        )
        .unwrap();
        assert!(discover_gemini_models(dir.path()).contains(&"gemini-9-pro".to_owned()));
        assert!(discover_gemini_models(&dir.path().join("missing")).is_empty());
    }

    /// The real installed package, when the pinned CLIs were installed.
    #[test]
    fn installed_gemini_package_lists_models() {
        let targets = [
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("target")),
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
        ];
        let Some(pkg) = targets
            .into_iter()
            .flatten()
            .map(|t| t.join("provider-clis/node_modules/@google/gemini-cli"))
            .find(|p| p.is_dir())
        else {
            eprintln!("gemini-cli not installed (.ci/install-clis); skipping");
            return;
        };
        let models = discover_gemini_models(&pkg);
        eprintln!("installed gemini-cli models: {models:?}");
        assert!(models.iter().any(|m| m == "gemini-2.5-pro"), "{models:?}");
        assert!(models.iter().all(|m| m != "none"));
        let bin = pkg.join("bundle/gemini.js");
        assert_eq!(
            gemini_package_dir(&bin).as_deref(),
            fs::canonicalize(&pkg).ok().as_deref()
        );
    }
}
