//! UI strings: one catalogue per language in `defaults/i18n/<lang>.toml`, English
//! as the fallback for missing languages and keys. Adding a language is a data-only
//! change: drop a TOML file next to `en.toml`.
//!
//! Keys are `section.name`; values may contain `{placeholders}` filled by [`Catalog::f`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The strings of one language (with English underneath).
#[derive(Debug)]
pub struct Catalog {
    lang: String,
    strings: HashMap<String, String>,
    fallback: Option<&'static Catalog>,
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut HashMap<String, String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        toml::Value::Integer(i) => {
            out.insert(prefix.to_owned(), i.to_string());
        }
        other => tracing::debug!(key = prefix, ?other, "ignoring a non-text UI string"),
    }
}

/// Parses a catalogue file into `section.key → text`.
fn parse(text: &str) -> Result<HashMap<String, String>, toml::de::Error> {
    let value: toml::Value = toml::from_str(text)?;
    let mut out = HashMap::new();
    flatten("", &value, &mut out);
    Ok(out)
}

/// Languages shipped in `defaults/i18n/`.
pub fn languages() -> Vec<&'static str> {
    crate::home::DEFAULT_FILES
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("i18n/")?.strip_suffix(".toml"))
        .collect()
}

fn load(lang: &str) -> Option<HashMap<String, String>> {
    let bytes = crate::home::default_file(&format!("i18n/{lang}.toml"))?;
    match parse(&String::from_utf8_lossy(bytes)) {
        Ok(map) => Some(map),
        Err(e) => {
            tracing::error!(lang, error = %e, "broken translation file; using English");
            None
        }
    }
}

fn english() -> &'static Catalog {
    static EN: OnceLock<Catalog> = OnceLock::new();
    EN.get_or_init(|| Catalog {
        lang: "en".into(),
        strings: load("en").unwrap_or_default(),
        fallback: None,
    })
}

/// The catalogue for `lang` (`de`, `de-DE`, …); English when unknown.
pub fn catalog(lang: &str) -> &'static Catalog {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static Catalog>>> = OnceLock::new();
    let code = lang.trim().to_ascii_lowercase();
    let code = code.split(['-', '_']).next().unwrap_or("en").to_owned();
    if code == "en" || code.is_empty() {
        return english();
    }
    let cache = CACHE.get_or_init(Mutex::default);
    let mut map = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = map.get(&code) {
        return c;
    }
    let catalog: &'static Catalog = match load(&code) {
        // Leaked once per language for the life of the process.
        Some(strings) => Box::leak(Box::new(Catalog {
            lang: code.clone(),
            strings,
            fallback: Some(english()),
        })),
        None => english(),
    };
    map.insert(code, catalog);
    catalog
}

impl Catalog {
    /// Language code.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The text of `key` (English, then the key itself, when missing).
    pub fn t(&self, key: &str) -> String {
        if let Some(s) = self.strings.get(key) {
            return s.clone();
        }
        if let Some(fb) = self.fallback {
            return fb.t(key);
        }
        tracing::debug!(key, "missing UI string");
        key.to_owned()
    }

    /// The text of `key` with `{name}` placeholders filled in, in one pass: a value
    /// that itself reads like a placeholder (a topic called `{model}`) stays as it is.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill(&self.t(key), args)
    }
}

/// `template` with each `{name}` of `args` replaced; other braces are kept.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v, close))
        });
        if let Some((v, close)) = value {
            out.push_str(v);
            rest = &after[close + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let args = [("topic", "{model}"), ("model", "opus")];
        assert_eq!(fill("{topic} runs {model}", &args), "{model} runs opus");
        assert_eq!(
            fill("{a}{b} {unknown} {", &[("a", "1"), ("b", "2")]),
            "12 {unknown} {"
        );
        assert_eq!(fill("{x}{x}", &[("x", "é")]), "éé");
        assert_eq!(fill("no braces", &[]), "no braces");
        assert_eq!(fill("{{x}}", &[("x", "1")]), "{1}");
    }

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_language_matches_english() {
        let en = load("en").expect("en.toml parses");
        assert!(en.len() > 20);
        for lang in languages() {
            let other = load(lang).unwrap_or_else(|| panic!("{lang}.toml parses"));
            for (key, text) in &other {
                let base = en
                    .get(key)
                    .unwrap_or_else(|| panic!("{lang}: `{key}` is not an English key"));
                assert_eq!(
                    placeholders(text),
                    placeholders(base),
                    "{lang}: placeholders of `{key}`"
                );
            }
            let mut missing: Vec<&String> = en.keys().filter(|k| !other.contains_key(*k)).collect();
            missing.sort();
            assert!(missing.is_empty(), "{lang}.toml lacks {missing:?}");
        }
        for lang in ["de", "es", "fr", "id", "nl", "pt", "ru"] {
            assert!(languages().contains(&lang), "{lang} is not shipped");
        }
    }

    #[test]
    fn fallback_and_formatting() {
        let de = catalog("de-DE");
        assert_eq!(de.lang(), "de");
        assert_ne!(de.t("stop.stopped"), catalog("en").t("stop.stopped"));
        assert_eq!(catalog("xx").lang(), "en");
        assert_eq!(catalog("en").t("no.such.key"), "no.such.key");
        assert!(
            catalog("en")
                .f("interrupt.done", &[("count", "2")])
                .contains('2')
        );
    }
}
