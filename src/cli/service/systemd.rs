//! The systemd user unit: what goes into it ([`UnitSpec`]) and how it is written
//! ([`render`]), with systemd's quoting and escaping. Pure string code, no I/O: the
//! unit `ductor service install` writes and `packaging/systemd/ductor.service` both
//! come from here, so they cannot drift.

use super::ServiceError;
use std::fmt::Write as _;

/// One word of the unit: a value written so that systemd reads it back unchanged, or
/// a raw fragment that may use systemd's specifiers (`%h`), for the packaged template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A literal value (a path): quoted and escaped as needed.
    Literal(String),
    /// Written as is, specifiers and all.
    Raw(String),
}

/// Everything that varies between units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// Comment lines at the top (without the `# `).
    pub header: Vec<String>,
    /// The command line: the `ductor` executable and its arguments.
    pub exec: Vec<Word>,
    /// The directories of the service's `PATH`, in order.
    pub path: Vec<Word>,
    /// Seconds systemd waits after SIGTERM before it kills what is left.
    pub stop_timeout_secs: u64,
}

/// The unit for `spec`, or why a value cannot be written into a unit file.
pub fn render(spec: &UnitSpec) -> Result<String, ServiceError> {
    let exec = command_line(&spec.exec)?;
    let mut dirs = Vec::with_capacity(spec.path.len());
    for dir in &spec.path {
        if let Word::Literal(d) = dir
            && d.contains(':')
        {
            return Err(ServiceError::Unrepresentable {
                what: "a PATH directory",
                value: d.clone(),
                why: "it contains ':'",
            });
        }
        dirs.push(word_body(dir, Context::Env)?);
    }
    let path = quote_if_needed(&format!("PATH={}", dirs.join(":")));
    let mut out = String::new();
    for line in &spec.header {
        let _ = writeln!(out, "# {line}");
    }
    let _ = write!(
        out,
        "[Unit]
Description=ductor chat orchestrator for coding-agent CLIs
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={exec}
# Exit code 42 is a restart request: systemd counts it as a failure and restarts.
Restart=on-failure
RestartSec=5
# Exit code 2: the config lacks required keys; restarting cannot help.
RestartPreventExitStatus=2
Environment=DUCTOR_SUPERVISOR=1
Environment={path}
# SIGTERM to ductor, which stops its agents within supervisor.stop_grace_seconds;
# whatever is left after TimeoutStopSec gets SIGKILL.
KillMode=mixed
TimeoutStopSec={timeout}

[Install]
WantedBy=default.target
",
        timeout = spec.stop_timeout_secs
    );
    Ok(out)
}

/// `words` as the value of `ExecStart=`.
pub fn command_line(words: &[Word]) -> Result<String, ServiceError> {
    Ok(words
        .iter()
        .map(|w| word(w, Context::Exec))
        .collect::<Result<Vec<_>, _>>()?
        .join(" "))
}

/// Where a word goes: `ExecStart=` expands `$VAR`, `Environment=` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Exec,
    Env,
}

/// `w` as one word of a command line.
fn word(w: &Word, ctx: Context) -> Result<String, ServiceError> {
    Ok(quote_if_needed(&word_body(w, ctx)?))
}

/// `w` with systemd's specifier (and, in `ExecStart=`, variable) characters escaped;
/// quoting comes after, on the whole word.
fn word_body(w: &Word, ctx: Context) -> Result<String, ServiceError> {
    let text = match w {
        Word::Raw(raw) => return Ok(raw.clone()),
        Word::Literal(text) => text,
    };
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(ServiceError::Unrepresentable {
            what: "a value",
            value: text.clone(),
            why: if c == '\n' {
                "it contains a line break"
            } else {
                "it contains a control character"
            },
        });
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%%"),
            '$' if ctx == Context::Exec => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Quotes `s` (double quotes, `\` and `"` escaped) when systemd would otherwise
/// split it or read an escape in it; plain words stay as they are.
fn quote_if_needed(s: &str) -> String {
    let plain = !s.is_empty()
        && s != ";"
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if plain {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The unit shipped in `packaging/systemd/ductor.service`, for a `cargo install`:
/// `~/.cargo/bin/ductor` on the default home, CLIs in the usual user directories.
pub fn packaged() -> UnitSpec {
    UnitSpec {
        header: vec![
            "systemd user unit for ductor, generated by src/cli/service/systemd.rs (do not edit;"
                .into(),
            "`ductor service install` writes one for your paths). Install by hand:".into(),
            "  cp packaging/systemd/ductor.service ~/.config/systemd/user/".into(),
            "  systemctl --user daemon-reload && systemctl --user enable --now ductor".into(),
            "  loginctl enable-linger \"$USER\"   # keep running after logout".into(),
        ],
        exec: vec![Word::Raw("%h/.cargo/bin/ductor".into())],
        path: ["%h/.local/bin", "%h/.npm-global/bin", "%h/.cargo/bin"]
            .iter()
            .chain(crate::paths::SYSTEM_BIN_DIRS)
            .map(|d| Word::Raw((*d).into()))
            .collect(),
        stop_timeout_secs: 20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(exec: &[&str], path: &[&str]) -> UnitSpec {
        UnitSpec {
            header: vec!["made by a test".into()],
            exec: exec.iter().map(|s| Word::Literal((*s).into())).collect(),
            path: path.iter().map(|s| Word::Literal((*s).into())).collect(),
            stop_timeout_secs: 25,
        }
    }

    fn line<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(key))
            .collect::<Vec<_>>()
    }

    #[test]
    fn plain_paths_are_written_as_they_are() {
        let unit = render(&spec(
            &["/home/u/.cargo/bin/ductor", "--home", "/home/u/.ductor"],
            &["/home/u/.nvm/versions/node/v22/bin", "/usr/bin", "/bin"],
        ))
        .unwrap();
        assert!(unit.starts_with("# made by a test\n[Unit]\n"));
        assert_eq!(
            line(&unit, "ExecStart="),
            ["/home/u/.cargo/bin/ductor --home /home/u/.ductor"]
        );
        assert_eq!(
            line(&unit, "Environment="),
            [
                "DUCTOR_SUPERVISOR=1",
                "PATH=/home/u/.nvm/versions/node/v22/bin:/usr/bin:/bin"
            ]
        );
        for key in [
            "Restart=on-failure",
            "RestartSec=5",
            "KillMode=mixed",
            "TimeoutStopSec=25",
            "WantedBy=default.target",
            "Type=simple",
        ] {
            assert!(unit.lines().any(|l| l == key), "{key} missing in\n{unit}");
        }
    }

    #[test]
    fn spaces_quotes_percent_and_dollar_are_escaped() {
        let unit = render(&spec(
            &[
                "/opt/my apps/ductor",
                "--home",
                r#"/home/u/100% "real" $HOME\x"#,
            ],
            &["/opt/node 22/bin", "/srv/50%/bin"],
        ))
        .unwrap();
        assert_eq!(
            line(&unit, "ExecStart="),
            [r#""/opt/my apps/ductor" --home "/home/u/100%% \"real\" $$HOME\\x""#]
        );
        assert_eq!(
            line(&unit, "Environment="),
            [
                "DUCTOR_SUPERVISOR=1",
                r#""PATH=/opt/node 22/bin:/srv/50%%/bin""#
            ]
        );
    }

    #[test]
    fn a_dollar_in_path_is_not_doubled() {
        // `Environment=` does not expand variables; doubling would change the value.
        let unit = render(&spec(&["/bin/ductor"], &["/opt/$x/bin"])).unwrap();
        assert_eq!(line(&unit, "Environment=PATH="), ["/opt/$x/bin"]);
    }

    #[test]
    fn values_a_unit_cannot_hold_are_refused() {
        for (exec, path) in [
            (&["/bin/ductor", "--home", "/tmp/a\nb"][..], &["/bin"][..]),
            (&["/bin/duc\ttor"][..], &["/bin"][..]),
            (&["/bin/ductor"][..], &["/usr/bin:/x"][..]),
        ] {
            let err = render(&spec(exec, path)).unwrap_err();
            assert!(matches!(err, ServiceError::Unrepresentable { .. }), "{err}");
        }
    }

    #[test]
    fn raw_words_keep_their_specifiers() {
        let unit = render(&packaged()).unwrap();
        assert_eq!(line(&unit, "ExecStart="), ["%h/.cargo/bin/ductor"]);
        assert!(unit.contains("Environment=PATH=%h/.local/bin:"));
        assert!(unit.lines().all(|l| !l.starts_with("# ") || l.len() < 100));
    }

    #[test]
    fn an_empty_or_separator_word_is_quoted() {
        assert_eq!(quote_if_needed(""), r#""""#);
        assert_eq!(quote_if_needed(";"), r#"";""#);
        assert_eq!(quote_if_needed("it's"), r#""it's""#);
    }
}
