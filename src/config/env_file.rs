//! `.env` secrets (§3.5): `KEY=VALUE` lines injected into every CLI child, never
//! overriding variables that already exist in ductor's own environment.

use std::collections::BTreeMap;
use std::path::Path;

/// Parses dotenv text: `#` comments, optional `export ` prefix, matching single or
/// double quotes stripped, unquoted values lose a trailing ` # comment`.
/// Lines without `=` or with an invalid key are ignored.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || key.as_bytes()[0].is_ascii_digit()
        {
            continue;
        }
        out.insert(key.to_owned(), unquote(value.trim()));
    }
    out
}

fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return value[1..value.len() - 1].to_owned();
        }
    }
    match value.find(" #") {
        Some(i) => value[..i].trim_end().to_owned(),
        None => value.to_owned(),
    }
}

/// Reads a `.env` file; a missing or unreadable file is empty (logged at debug).
pub fn load(path: &Path) -> BTreeMap<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "no .env loaded");
            BTreeMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_syntax() {
        let env = parse(
            "# comment\nexport A=1\nB=\"two words\"\nC='x # y'\nD=plain # note\n\nbad line\n1X=no\nE=\n",
        );
        assert_eq!(env.get("A").unwrap(), "1");
        assert_eq!(env.get("B").unwrap(), "two words");
        assert_eq!(env.get("C").unwrap(), "x # y");
        assert_eq!(env.get("D").unwrap(), "plain");
        assert_eq!(env.get("E").unwrap(), "");
        assert!(!env.contains_key("1X"));
        assert_eq!(env.len(), 5);
    }
}
