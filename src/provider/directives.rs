//! Leading `@name` / `@key=value` directives of a chat message (`@opus fix this`).
//!
//! Only tokens at the very start of the message count: each is `@` + a name
//! (`[a-zA-Z][a-zA-Z0-9_.-]*`, and `[`/`]` so that `@sonnet[1m]` works) + an optional
//! `=value` (no whitespace), and must be followed by whitespace or the end of the
//! text. Parsing stops at the first token that is not a directive, so `email @opus`
//! has none. Names are matched case-insensitively:
//! - a known model id (of any provider) → `model_override` (the first one wins, later
//!   ones are dropped) and `provider_override` = the provider that runs it;
//! - `@claude` / `@codex` / `@gemini` → `provider_override` with no model (the caller
//!   uses that provider's default model), unless a model was already chosen. The next
//!   token may name one of that provider's models without `@` (`@codex gpt-5.4 hi`);
//! - a `key=value` token → `key_values` (key lower-cased, value as written);
//! - any other name → `raw` (lower-cased): a candidate named-session name.

use std::collections::BTreeMap;

use super::ProviderKind;

/// What the leading directives of a message asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    /// Provider selected by `@claude|@codex|@gemini` or implied by the model.
    pub provider_override: Option<ProviderKind>,
    /// Model for this turn, spelled as in the known-model list.
    pub model_override: Option<String>,
    /// Unknown bare names, lower-cased, in order (named-session candidates).
    pub raw: Vec<String>,
    /// `@key=value` pairs, keys lower-cased, in order.
    pub key_values: Vec<(String, String)>,
    /// The message without its directives, trimmed.
    pub text: String,
    /// The message consisted of directives only (e.g. `@opus`).
    pub is_directive_only: bool,
}

/// Parses the leading directives of `text`; `known` lists the model ids of each
/// provider (see [`super::models::ModelCatalogue::known_ids`]).
pub fn parse_directives(text: &str, known: &BTreeMap<ProviderKind, Vec<String>>) -> Directives {
    let mut d = Directives::default();
    let mut rest = text.trim_start();
    let mut consumed = false;
    while let Some((name, value, after)) = directive_token(rest) {
        consumed = true;
        rest = after.trim_start();
        let lower = name.to_ascii_lowercase();
        if let Some(value) = value {
            d.key_values.push((lower, value.to_owned()));
            continue;
        }
        if let Ok(provider) = lower.parse::<ProviderKind>() {
            if d.provider_override.is_none() {
                d.provider_override = Some(provider);
                // `@codex gpt-5.4 …`: a bare model name of that provider may follow.
                let next = rest.split_whitespace().next().unwrap_or_default();
                if !next.starts_with('@')
                    && let Some(model) = find_model(known, Some(provider), next)
                {
                    d.model_override = Some(model);
                    rest = rest[next.len()..].trim_start();
                }
            }
            continue;
        }
        if let Some(model) = find_model(known, d.provider_override, &lower) {
            if d.model_override.is_none() {
                d.provider_override = Some(model_provider(known, &model));
                d.model_override = Some(model);
            }
            continue;
        }
        if find_model(known, None, &lower).is_some() {
            // A model of another provider than the one already selected: dropped.
            continue;
        }
        d.raw.push(lower);
    }
    rest.trim_end().clone_into(&mut d.text);
    d.is_directive_only = consumed && d.text.is_empty();
    d
}

/// Splits one `@name[=value]` token off the start of `s`, returning the name, the
/// value and the text after the token.
fn directive_token(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let body = s.strip_prefix('@')?;
    let first = body.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']')))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    let after_name = &body[name_len..];
    let (value, after) = match after_name.strip_prefix('=') {
        Some(v) => {
            let end = v.find(char::is_whitespace).unwrap_or(v.len());
            if end == 0 {
                return None;
            }
            (Some(&v[..end]), &v[end..])
        }
        None => (None, after_name),
    };
    // The token must end at whitespace or the end of the text (`@opus,` is no directive).
    if !after.is_empty() && !after.starts_with(char::is_whitespace) {
        return None;
    }
    Some((name, value, after))
}

/// The known model spelled `name` (case-insensitive), of `provider` if given.
fn find_model(
    known: &BTreeMap<ProviderKind, Vec<String>>,
    provider: Option<ProviderKind>,
    name: &str,
) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    known
        .iter()
        .filter(|(p, _)| provider.is_none_or(|want| want == **p))
        .flat_map(|(_, models)| models)
        .find(|m| m.eq_ignore_ascii_case(name))
        .cloned()
}

fn model_provider(known: &BTreeMap<ProviderKind, Vec<String>>, model: &str) -> ProviderKind {
    known
        .iter()
        .find(|(_, models)| models.iter().any(|m| m == model))
        .map_or(ProviderKind::Codex, |(p, _)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::models::ModelCatalogue;

    fn parse(text: &str) -> Directives {
        parse_directives(text, &ModelCatalogue::default().known_ids())
    }

    #[test]
    #[allow(clippy::too_many_lines)] // One line per case, as rustfmt lays them out.
    fn directive_table() {
        struct Case {
            input: &'static str,
            provider: Option<ProviderKind>,
            model: Option<&'static str>,
            raw: &'static [&'static str],
            kv: &'static [(&'static str, &'static str)],
            text: &'static str,
            only: bool,
        }
        use ProviderKind::{Claude, Codex, Gemini};
        let none = Case {
            input: "",
            provider: None,
            model: None,
            raw: &[],
            kv: &[],
            text: "",
            only: false,
        };
        let cases = [
            Case {
                input: "@opus hello",
                provider: Some(Claude),
                model: Some("opus"),
                text: "hello",
                ..none
            },
            Case {
                input: "@opus",
                provider: Some(Claude),
                model: Some("opus"),
                only: true,
                ..none
            },
            Case {
                input: "hello @opus",
                text: "hello @opus",
                ..none
            },
            Case {
                input: "email me@opus.com",
                text: "email me@opus.com",
                ..none
            },
            Case {
                input: "@gpt4 do it",
                raw: &["gpt4"],
                text: "do it",
                ..none
            },
            Case {
                input: "@opus @mode=fast hi",
                provider: Some(Claude),
                model: Some("opus"),
                kv: &[("mode", "fast")],
                text: "hi",
                ..none
            },
            Case {
                input: "@OPUS Hi There",
                provider: Some(Claude),
                model: Some("opus"),
                text: "Hi There",
                ..none
            },
            Case {
                input: "@sonnet @opus x",
                provider: Some(Claude),
                model: Some("sonnet"),
                text: "x",
                ..none
            },
            Case {
                input: "@Sonnet[1m] long task",
                provider: Some(Claude),
                model: Some("sonnet[1m]"),
                text: "long task",
                ..none
            },
            Case {
                input: "  @gpt-5.4   fix\nthe bug  ",
                provider: Some(Codex),
                model: Some("gpt-5.4"),
                text: "fix\nthe bug",
                ..none
            },
            Case {
                input: "@flash-lite q",
                provider: Some(Gemini),
                model: Some("flash-lite"),
                text: "q",
                ..none
            },
            Case {
                input: "@codex hi",
                provider: Some(Codex),
                text: "hi",
                ..none
            },
            Case {
                input: "@codex gpt-5.4 hi",
                provider: Some(Codex),
                model: Some("gpt-5.4"),
                text: "hi",
                ..none
            },
            Case {
                input: "@codex opus hi",
                provider: Some(Codex),
                text: "opus hi",
                ..none
            },
            Case {
                input: "@gemini @pro hi",
                provider: Some(Gemini),
                model: Some("pro"),
                text: "hi",
                ..none
            },
            Case {
                input: "@claude @gpt-5.5 hi",
                provider: Some(Claude),
                text: "hi",
                ..none
            },
            Case {
                input: "@Claude",
                provider: Some(Claude),
                only: true,
                ..none
            },
            Case {
                input: "@mysession continue",
                raw: &["mysession"],
                text: "continue",
                ..none
            },
            Case {
                input: "@a @b @c=1",
                raw: &["a", "b"],
                kv: &[("c", "1")],
                only: true,
                ..none
            },
            Case {
                input: "@opus, hi",
                text: "@opus, hi",
                ..none
            },
            Case {
                input: "@1abc hi",
                text: "@1abc hi",
                ..none
            },
            Case {
                input: "@ hi",
                text: "@ hi",
                ..none
            },
            Case {
                input: "@key= hi",
                text: "@key= hi",
                ..none
            },
            Case {
                input: "@",
                text: "@",
                ..none
            },
            Case { input: "", ..none },
            Case {
                input: "plain text",
                text: "plain text",
                ..none
            },
        ];
        for c in cases {
            let d = parse(c.input);
            let ctx = c.input;
            assert_eq!(d.provider_override, c.provider, "{ctx:?}");
            assert_eq!(d.model_override.as_deref(), c.model, "{ctx:?}");
            assert_eq!(d.raw, c.raw, "{ctx:?}");
            let kv: Vec<(&str, &str)> = d
                .key_values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(kv, c.kv, "{ctx:?}");
            assert_eq!(d.text, c.text, "{ctx:?}");
            assert_eq!(d.is_directive_only, c.only, "{ctx:?}");
        }
    }
}
