//! Building the command line of one CLI turn from the config, the session and the
//! per-turn overrides. Pure: no process is started here.
//!
//! The prompt goes in through the CLI's stdin, never into argv: `/proc/*/cmdline`
//! shows argv to every user of the machine, and Linux limits one argument to 128 KiB
//! (a large injected task result would fail to start with `E2BIG`). Extra system
//! instructions go where each CLI takes them: claude a 0600 file
//! (`--append-system-prompt-file`), codex `-c developer_instructions=…` (codex has no
//! file form; capped at [`INLINE_APPEND_LIMIT`]), gemini a system prompt file named by
//! `GEMINI_SYSTEM_MD`. That file *replaces* gemini's built-in prompt, so it starts with
//! ductor's own base prompt (`defaults/rules/gemini_system.md`, which lists the run's
//! tools through gemini's `${AvailableTools}` substitution) and is written for every
//! turn, resumed ones included, so a conversation never switches prompts half-way.

use super::ProviderKind;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Above this size an appended system prompt goes through a file (Linux limits a
/// single argument to 128 KiB).
pub const INLINE_APPEND_LIMIT: usize = 96 * 1024;

/// What one turn asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnSpec {
    /// The user's (or an automation's) prompt.
    pub prompt: String,
    /// Model override; `None` = the CLI's default.
    pub model: Option<String>,
    /// Reasoning effort; `None` or `default` = not passed.
    pub effort: Option<String>,
    /// Session id to resume; `None` starts a new session.
    pub resume: Option<String>,
    /// Extra system instructions (memory, agent roster) for a new session.
    pub append_system_prompt: Option<String>,
}

/// Settings from the agent config that shape every command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderOptions {
    /// `permission_mode` (`bypassPermissions`, `acceptEdits`, `default`, `plan`, ...).
    pub permission_mode: String,
    /// claude `--max-turns`.
    pub max_turns: Option<u32>,
    /// claude `--max-budget-usd`.
    pub max_budget_usd: Option<f64>,
    /// `cli_parameters.<provider>`: appended before the prompt.
    pub extra_args: Vec<String>,
    /// Whether ductor runs as root (claude then needs `IS_SANDBOX=1` for bypass mode).
    pub running_as_root: bool,
}

/// A ready-to-run command (program looked up on `PATH` by the runner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Executable name.
    pub program: String,
    /// Arguments after the program.
    pub args: Vec<String>,
    /// Provider-specific variables added to the child environment.
    pub env: Vec<(String, String)>,
    /// Files written for this turn; the runner deletes them afterwards.
    pub temp_files: Vec<PathBuf>,
    /// What the CLI reads on stdin (the prompt); `None` = the null device.
    pub stdin: Option<String>,
}

fn effort_of(spec: &TurnSpec) -> Option<&str> {
    spec.effort
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("default"))
}

fn model_of(spec: &TurnSpec) -> Option<&str> {
    spec.model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
}

fn append_of(spec: &TurnSpec) -> Option<&str> {
    spec.append_system_prompt
        .as_deref()
        .filter(|a| !a.trim().is_empty())
}

/// Builds the invocation for `provider`. Large appended prompts are written under
/// `scratch` (created if needed).
pub fn build(
    provider: ProviderKind,
    spec: &TurnSpec,
    opts: &ProviderOptions,
    scratch: &Path,
) -> std::io::Result<Invocation> {
    match provider {
        ProviderKind::Claude => claude(spec, opts, scratch),
        ProviderKind::Codex => Ok(codex(spec, opts)),
        ProviderKind::Gemini => gemini(spec, opts, scratch),
    }
}

/// Builds the command of a live (two-way) process for `provider`: the one-shot
/// command's model, permission, effort and system prompt settings, in the CLI's
/// live mode, without a prompt (turns go to the process one by one). The model and
/// the session to resume of codex and gemini are set by their protocols (see
/// [`super::live`]); `cli_parameters` of codex (made for `codex exec`) are left out.
pub fn build_live(
    provider: ProviderKind,
    spec: &TurnSpec,
    opts: &ProviderOptions,
    scratch: &Path,
) -> std::io::Result<Invocation> {
    let mut inv = match provider {
        ProviderKind::Claude => {
            let mut inv = claude(spec, opts, scratch)?;
            let at = inv.args.iter().position(|a| a == "--verbose").unwrap_or(0);
            inv.args.splice(
                at..at,
                [
                    "--input-format",
                    "stream-json",
                    "--permission-prompt-tool",
                    "stdio",
                ]
                .map(str::to_owned),
            );
            inv
        }
        ProviderKind::Codex => {
            let mut args: Vec<String> = super::live::codex::LIVE_ARGS.map(str::to_owned).to_vec();
            args.extend(codex_config(spec));
            Invocation {
                program: "codex".into(),
                args,
                env: Vec::new(),
                temp_files: Vec::new(),
                stdin: None,
            }
        }
        ProviderKind::Gemini => {
            // The session is loaded (or not) through the protocol.
            let fresh = TurnSpec {
                resume: None,
                ..spec.clone()
            };
            let mut inv = gemini(&fresh, opts, scratch)?;
            inv.args
                .retain(|a| a != "--prompt=" && a != "--output-format" && a != "stream-json");
            inv.args
                .splice(0..0, super::live::gemini::LIVE_ARGS.map(str::to_owned));
            inv
        }
    };
    // Turns arrive on stdin over the process's life: an empty start keeps it a pipe
    // (and keeps a container's `exec -i` attached to it).
    inv.stdin = Some(String::new());
    Ok(inv)
}

fn claude(spec: &TurnSpec, opts: &ProviderOptions, scratch: &Path) -> std::io::Result<Invocation> {
    let mut args: Vec<String> = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut env = Vec::new();
    let mut temp_files = Vec::new();
    if let Some(id) = spec.resume.as_deref().filter(|s| !s.is_empty()) {
        args.extend(["--resume".into(), id.to_owned()]);
    }
    if let Some(model) = model_of(spec) {
        args.extend(["--model".into(), model.to_owned()]);
    }
    if !opts.permission_mode.is_empty() {
        // `ask` is ductor's own name for the CLI's asking mode (`default`).
        let mode = match opts.permission_mode.as_str() {
            "ask" => "default",
            other => other,
        };
        args.extend(["--permission-mode".into(), mode.to_owned()]);
        if opts.permission_mode == "bypassPermissions" && opts.running_as_root {
            env.push(("IS_SANDBOX".to_owned(), "1".to_owned()));
        }
    }
    if let Some(effort) = effort_of(spec) {
        args.extend(["--effort".into(), effort.to_owned()]);
    }
    if let Some(append) = append_of(spec) {
        let path = write_private(scratch, "append-system-prompt", append)?;
        args.extend([
            "--append-system-prompt-file".into(),
            path.display().to_string(),
        ]);
        temp_files.push(path);
    }
    if let Some(n) = opts.max_turns {
        args.extend(["--max-turns".into(), n.to_string()]);
    }
    if let Some(usd) = opts.max_budget_usd {
        args.extend(["--max-budget-usd".into(), usd.to_string()]);
    }
    args.extend(opts.extra_args.iter().cloned());
    Ok(Invocation {
        program: "claude".into(),
        args,
        env,
        temp_files,
        stdin: Some(spec.prompt.clone()),
    })
}

/// Quotes `s` as a TOML basic string (codex parses `-c` values as TOML).
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// codex's `-c` overrides of a turn: the reasoning effort and the extra system
/// instructions (one-shot and live alike).
fn codex_config(spec: &TurnSpec) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(effort) = effort_of(spec) {
        args.extend([
            "-c".into(),
            format!("model_reasoning_effort={}", toml_string(effort)),
        ]);
    }
    if let Some(append) = append_of(spec) {
        let text = crate::util::truncate_bytes(append, INLINE_APPEND_LIMIT);
        args.extend([
            "-c".into(),
            format!("developer_instructions={}", toml_string(text)),
        ]);
    }
    args
}

fn codex(spec: &TurnSpec, opts: &ProviderOptions) -> Invocation {
    let mut args: Vec<String> = ["exec", "--json", "--skip-git-repo-check"]
        .map(str::to_owned)
        .to_vec();
    match opts.permission_mode.as_str() {
        "bypassPermissions" => args.push("--dangerously-bypass-approvals-and-sandbox".into()),
        "acceptEdits" | "auto" | "dontAsk" => {
            args.extend(["--sandbox".into(), "workspace-write".into()]);
        }
        _ => args.extend(["--sandbox".into(), "read-only".into()]),
    }
    if let Some(model) = model_of(spec) {
        args.extend(["-m".into(), model.to_owned()]);
    }
    args.extend(codex_config(spec));
    args.extend(opts.extra_args.iter().cloned());
    if let Some(id) = spec.resume.as_deref().filter(|s| !s.is_empty()) {
        args.extend(["resume".into(), id.to_owned()]);
    }
    // `-`: the prompt comes from stdin.
    args.push("-".into());
    Invocation {
        program: "codex".into(),
        args,
        env: Vec::new(),
        temp_files: Vec::new(),
        stdin: Some(spec.prompt.clone()),
    }
}

/// gemini's system prompt for one turn: ductor's base prompt, then the turn's extra
/// instructions.
fn gemini_system_prompt(spec: &TurnSpec) -> String {
    let base = crate::home::default_file("rules/gemini_system.md")
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let mut text = base.trim_end().to_owned();
    if let Some(append) = append_of(spec) {
        text.push_str("\n\n");
        text.push_str(append);
    }
    text.push('\n');
    text
}

fn gemini(spec: &TurnSpec, opts: &ProviderOptions, scratch: &Path) -> std::io::Result<Invocation> {
    let mut args: Vec<String> = ["--output-format", "stream-json"]
        .map(str::to_owned)
        .to_vec();
    if let Some(model) = model_of(spec) {
        args.extend(["-m".into(), model.to_owned()]);
    }
    let approval = match opts.permission_mode.as_str() {
        "bypassPermissions" => "yolo",
        "acceptEdits" => "auto_edit",
        "plan" => "plan",
        _ => "default",
    };
    args.extend(["--approval-mode".into(), approval.into()]);
    if let Some(id) = spec.resume.as_deref().filter(|s| !s.is_empty()) {
        args.extend(["--resume".into(), id.to_owned()]);
    }
    args.extend(opts.extra_args.iter().cloned());
    // Headless with the prompt from stdin (gemini joins piped input and `--prompt`).
    args.push("--prompt=".into());
    let system = write_private(scratch, "gemini-system", &gemini_system_prompt(spec))?;
    Ok(Invocation {
        program: "gemini".into(),
        args,
        env: vec![
            ("GEMINI_SYSTEM_MD".into(), system.display().to_string()),
            // Without the relaunch the CLI starts ~1 s faster and honours SIGTERM itself.
            ("GEMINI_CLI_NO_RELAUNCH".into(), "true".into()),
        ],
        temp_files: vec![system],
        stdin: Some(spec.prompt.clone()),
    })
}

fn write_private(dir: &Path, stem: &str, content: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let suffix = crate::util::random_hex(6);
    let path = dir.join(format!("{stem}-{suffix}.md"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(content.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn opts(mode: &str) -> ProviderOptions {
        ProviderOptions {
            permission_mode: mode.into(),
            running_as_root: true,
            ..ProviderOptions::default()
        }
    }

    fn spec(prompt: &str) -> TurnSpec {
        TurnSpec {
            prompt: prompt.into(),
            ..TurnSpec::default()
        }
    }

    #[test]
    fn claude_new_and_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("--help me");
        s.model = Some("sonnet".into());
        s.effort = Some("high".into());
        s.append_system_prompt = Some("memory".into());
        let inv = build(
            ProviderKind::Claude,
            &s,
            &opts("bypassPermissions"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            inv.args,
            [
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "--model",
                "sonnet",
                "--permission-mode",
                "bypassPermissions",
                "--effort",
                "high",
                "--append-system-prompt-file",
                &inv.temp_files[0].display().to_string(),
            ]
        );
        assert_eq!(
            inv.stdin.as_deref(),
            Some("--help me"),
            "the prompt is not in argv"
        );
        assert_eq!(
            std::fs::read_to_string(&inv.temp_files[0]).unwrap(),
            "memory"
        );
        assert_eq!(inv.env, [("IS_SANDBOX".to_owned(), "1".to_owned())]);
        s.resume = Some("abc".into());
        s.effort = Some("default".into());
        s.append_system_prompt = None;
        let inv = build(ProviderKind::Claude, &s, &opts("default"), dir.path()).unwrap();
        assert_eq!(&inv.args[5..7], ["--resume", "abc"]);
        assert!(!inv.args.contains(&"--effort".to_owned()));
        assert!(inv.env.is_empty());
    }

    #[test]
    fn claude_appends_go_to_a_private_file_whatever_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("hi");
        s.append_system_prompt = Some("x".repeat(INLINE_APPEND_LIMIT + 1));
        let inv = build(ProviderKind::Claude, &s, &opts("default"), dir.path()).unwrap();
        let i = inv
            .args
            .iter()
            .position(|a| a == "--append-system-prompt-file")
            .unwrap();
        let path = PathBuf::from(&inv.args[i + 1]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().len(),
            INLINE_APPEND_LIMIT + 1
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(inv.temp_files, [path]);
    }

    #[test]
    fn codex_flags_by_permission_mode_and_resume() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("hi");
        s.model = Some("gpt-5.5".into());
        s.effort = Some("high".into());
        let inv = build(
            ProviderKind::Codex,
            &s,
            &opts("bypassPermissions"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            inv.args,
            [
                "exec",
                "--json",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "-m",
                "gpt-5.5",
                "-c",
                "model_reasoning_effort=\"high\"",
                "-"
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some("hi"));
        s.resume = Some("0199".into());
        s.append_system_prompt = Some("say \"hi\"\nplease".into());
        let inv = build(ProviderKind::Codex, &s, &opts("default"), dir.path()).unwrap();
        assert!(inv.args.windows(2).any(|w| w == ["--sandbox", "read-only"]));
        assert!(
            inv.args
                .contains(&"developer_instructions=\"say \\\"hi\\\"\\nplease\"".to_owned())
        );
        assert_eq!(inv.args[inv.args.len() - 3..], ["resume", "0199", "-"]);
        let inv = build(ProviderKind::Codex, &s, &opts("acceptEdits"), dir.path()).unwrap();
        assert!(
            inv.args
                .windows(2)
                .any(|w| w == ["--sandbox", "workspace-write"])
        );
    }

    #[test]
    fn gemini_prompt_goes_to_stdin_and_the_system_prompt_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("-x hi");
        s.model = Some("flash".into());
        s.append_system_prompt = Some("MEM".into());
        s.resume = Some("id1".into());
        let mut o = opts("bypassPermissions");
        o.extra_args = vec!["--include-directories".into(), "/x".into()];
        let inv = build(ProviderKind::Gemini, &s, &o, dir.path()).unwrap();
        assert_eq!(
            inv.args,
            [
                "--output-format",
                "stream-json",
                "-m",
                "flash",
                "--approval-mode",
                "yolo",
                "--resume",
                "id1",
                "--include-directories",
                "/x",
                "--prompt="
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some("-x hi"));
        let [system] = inv.temp_files.as_slice() else {
            panic!("one system prompt file: {:?}", inv.temp_files);
        };
        assert_eq!(
            inv.env,
            [
                ("GEMINI_SYSTEM_MD".to_owned(), system.display().to_string()),
                ("GEMINI_CLI_NO_RELAUNCH".to_owned(), "true".to_owned())
            ]
        );
        let text = std::fs::read_to_string(system).unwrap();
        assert!(text.contains("${AvailableTools}"), "{text}");
        assert!(text.trim_end().ends_with("MEM"), "{text}");
        let mode = std::fs::metadata(system).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // A resumed turn without extra instructions still gets the base prompt.
        s.append_system_prompt = None;
        let inv = build(ProviderKind::Gemini, &s, &o, dir.path()).unwrap();
        let text = std::fs::read_to_string(&inv.temp_files[0]).unwrap();
        assert!(text.contains("${AvailableTools}") && !text.contains("MEM"));
    }

    #[test]
    fn live_commands_are_the_clis_two_way_modes_without_a_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let s = TurnSpec {
            prompt: "never on the command line".into(),
            model: Some("m1".into()),
            effort: Some("high".into()),
            resume: Some("sess-1".into()),
            append_system_prompt: None,
        };
        let o = opts("ask");
        let claude = build_live(ProviderKind::Claude, &s, &o, dir.path()).unwrap();
        let args = claude.args.join(" ");
        assert!(args.contains("--input-format stream-json"), "{args}");
        assert!(args.contains("--permission-prompt-tool stdio"), "{args}");
        assert!(
            args.contains("--permission-mode default"),
            "ask = the asking mode"
        );
        assert!(args.contains("--resume sess-1") && args.contains("--model m1"));
        assert_eq!(
            claude.stdin.as_deref(),
            Some(""),
            "turns come later, on stdin"
        );
        let one_shot = build(ProviderKind::Claude, &s, &o, dir.path()).unwrap();
        assert!(
            one_shot
                .args
                .join(" ")
                .contains("--permission-mode default"),
            "ask is the asking mode one-shot too"
        );

        let codex = build_live(ProviderKind::Codex, &s, &o, dir.path()).unwrap();
        assert_eq!(codex.args[0], "app-server");
        assert!(
            codex
                .args
                .contains(&"model_reasoning_effort=\"high\"".to_owned())
        );
        assert!(
            !codex.args.iter().any(|a| a.contains("sess-1")),
            "resumed by protocol"
        );

        let gemini = build_live(ProviderKind::Gemini, &s, &o, dir.path()).unwrap();
        assert_eq!(gemini.args[0], "--acp");
        let args = gemini.args.join(" ");
        assert!(args.contains("--approval-mode default"), "{args}");
        assert!(
            !args.contains("--prompt") && !args.contains("--resume"),
            "{args}"
        );
        assert!(!args.contains("stream-json"), "{args}");
        for inv in [claude, codex, gemini] {
            assert!(
                !inv.args
                    .iter()
                    .any(|a| a.contains("never on the command line"))
            );
        }
    }
}
