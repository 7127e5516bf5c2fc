//! How the wizard asks: [`TermPrompter`] on a terminal (arrow-key lists, hidden
//! secrets), [`LinePrompter`] everywhere else (one answer per line, a list answered
//! by its number or its text), so a script can pipe the answers in.
//!
//! Ctrl-C: [`CancelGuard`] turns SIGINT into "cancelled, nothing was written" with
//! the terminal restored (echo, cursor), whatever prompt or request was running.
//! End of input is a cancel too ([`cancelled`] tells both apart from real errors).

use std::io::{self, BufRead, Write};
use std::os::fd::AsFd;
use std::sync::OnceLock;

/// One question at a time.
pub trait Prompter {
    /// Prints a line of information.
    fn say(&mut self, text: &str);
    /// A line of text; `default` is taken on an empty answer.
    fn input(&mut self, question: &str, default: Option<&str>) -> io::Result<String>;
    /// A secret, not echoed where that is possible.
    fn secret(&mut self, question: &str) -> io::Result<String>;
    /// One of `items`; returns its index.
    fn select(&mut self, question: &str, items: &[String], default: usize) -> io::Result<usize>;
    /// Yes or no.
    fn confirm(&mut self, question: &str, default: bool) -> io::Result<bool>;
}

/// Whether `err` means the user gave up (Ctrl-C, end of input) rather than a failure.
pub fn cancelled(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::UnexpectedEof
    )
}

fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "end of input")
}

/// Prompts on the terminal (stderr), answers from the keyboard.
#[derive(Debug)]
pub struct TermPrompter {
    term: dialoguer::console::Term,
}

impl TermPrompter {
    /// A prompter on this process's terminal.
    pub fn new() -> Self {
        Self {
            term: dialoguer::console::Term::stderr(),
        }
    }
}

impl Default for TermPrompter {
    fn default() -> Self {
        Self::new()
    }
}

fn dialog(err: dialoguer::Error) -> io::Error {
    match err {
        dialoguer::Error::IO(e) => e,
    }
}

impl Prompter for TermPrompter {
    fn say(&mut self, text: &str) {
        let _ = self.term.write_line(text);
    }

    fn input(&mut self, question: &str, default: Option<&str>) -> io::Result<String> {
        let mut input = dialoguer::Input::<String>::new()
            .with_prompt(question)
            .allow_empty(true);
        if let Some(d) = default {
            input = input.default(d.to_owned());
        }
        input.interact_text_on(&self.term).map_err(dialog)
    }

    fn secret(&mut self, question: &str) -> io::Result<String> {
        dialoguer::Password::new()
            .with_prompt(question)
            .allow_empty_password(true)
            .interact_on(&self.term)
            .map_err(dialog)
    }

    fn select(&mut self, question: &str, items: &[String], default: usize) -> io::Result<usize> {
        dialoguer::Select::new()
            .with_prompt(question)
            .items(items)
            .default(default)
            .interact_on(&self.term)
            .map_err(dialog)
    }

    fn confirm(&mut self, question: &str, default: bool) -> io::Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(default)
            .interact_on(&self.term)
            .map_err(dialog)
    }
}

/// Plain prompts: questions to `out`, one answer per line from `input`.
pub struct LinePrompter<R, W> {
    input: R,
    out: W,
}

impl<R: BufRead, W: Write> LinePrompter<R, W> {
    /// A prompter reading `input` and writing `out`.
    pub fn new(input: R, out: W) -> Self {
        Self { input, out }
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        Ok(line.trim().to_owned())
    }

    fn ask(&mut self, text: &str) -> io::Result<String> {
        write!(self.out, "{text}: ")?;
        self.out.flush()?;
        self.line()
    }
}

impl<R: BufRead, W: Write> Prompter for LinePrompter<R, W> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn input(&mut self, question: &str, default: Option<&str>) -> io::Result<String> {
        let shown = match default {
            Some(d) if !d.is_empty() => format!("{question} [{d}]"),
            _ => question.to_owned(),
        };
        let answer = self.ask(&shown)?;
        Ok(if answer.is_empty() {
            default.unwrap_or_default().to_owned()
        } else {
            answer
        })
    }

    fn secret(&mut self, question: &str) -> io::Result<String> {
        self.ask(question)
    }

    fn select(&mut self, question: &str, items: &[String], default: usize) -> io::Result<usize> {
        let _ = writeln!(self.out, "{question}");
        for (i, item) in items.iter().enumerate() {
            let mark = if i == default { '*' } else { ' ' };
            let _ = writeln!(self.out, " {mark}{}) {item}", i + 1);
        }
        loop {
            let answer = self.ask(&format!("number [{}]", default + 1))?;
            if answer.is_empty() {
                return Ok(default);
            }
            if let Some(i) = answer
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .filter(|i| *i < items.len())
            {
                return Ok(i);
            }
            let lower = answer.to_lowercase();
            if let Some(i) = items
                .iter()
                .position(|item| item.to_lowercase().starts_with(&lower))
            {
                return Ok(i);
            }
            let _ = writeln!(self.out, "answer with a number from 1 to {}", items.len());
        }
    }

    fn confirm(&mut self, question: &str, default: bool) -> io::Result<bool> {
        let hint = if default { "Y/n" } else { "y/N" };
        loop {
            match self
                .ask(&format!("{question} [{hint}]"))?
                .to_lowercase()
                .as_str()
            {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => {
                    let _ = writeln!(self.out, "answer y or n");
                }
            }
        }
    }
}

/// The terminal settings to put back when Ctrl-C ends the wizard.
static SAVED_TERMIOS: OnceLock<nix::libc::termios> = OnceLock::new();

const CANCELLED: &[u8] = b"\x1b[?25h\ncancelled: nothing was written\n";

extern "C" fn on_interrupt(_: nix::libc::c_int) {
    // Only async-signal-safe calls: tcsetattr, write, _exit.
    // SAFETY: the termios was read by tcgetattr before the handler was installed;
    // write and _exit are async-signal-safe and take plain pointers/ints.
    #[allow(unsafe_code)]
    unsafe {
        if let Some(t) = SAVED_TERMIOS.get() {
            nix::libc::tcsetattr(0, nix::libc::TCSANOW, t);
        }
        nix::libc::write(2, CANCELLED.as_ptr().cast(), CANCELLED.len());
        nix::libc::_exit(130);
    }
}

/// While alive, Ctrl-C ends the process with "cancelled: nothing was written" and the
/// terminal as it was. Dropped (the config being written), Ctrl-C is the default again.
#[derive(Debug)]
pub struct CancelGuard {
    previous: Option<nix::sys::signal::SigAction>,
}

impl CancelGuard {
    /// Installs the handler (and remembers the terminal settings of stdin).
    pub fn install() -> Self {
        use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
        if let Ok(t) = nix::sys::termios::tcgetattr(io::stdin().as_fd()) {
            let _ = SAVED_TERMIOS.set(t.into());
        }
        let action = SigAction::new(
            SigHandler::Handler(on_interrupt),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only makes async-signal-safe calls.
        #[allow(unsafe_code)]
        let previous = unsafe { sigaction(Signal::SIGINT, &action) }.ok();
        Self { previous }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: restores the disposition that was in place before.
            #[allow(unsafe_code)]
            let _ =
                unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGINT, previous) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> LinePrompter<&[u8], Vec<u8>> {
        LinePrompter::new(input.as_bytes(), Vec::new())
    }

    #[test]
    fn plain_answers_defaults_numbers_and_names() {
        let items = vec!["claude".to_owned(), "codex".to_owned(), "gemini".to_owned()];
        let mut p = lines("\n3\nCod\n9\n1\n\nmaybe\nn\nx\n");
        assert_eq!(p.select("Provider", &items, 0).unwrap(), 0);
        assert_eq!(p.select("Provider", &items, 0).unwrap(), 2);
        assert_eq!(p.select("Provider", &items, 0).unwrap(), 1);
        assert_eq!(
            p.select("Provider", &items, 0).unwrap(),
            0,
            "9 is out of range, then 1"
        );
        assert!(p.confirm("Go on?", true).unwrap());
        assert!(
            !p.confirm("Go on?", true).unwrap(),
            "maybe is asked again, then n"
        );
        assert_eq!(p.input("Zone", Some("UTC")).unwrap(), "x");
        let out = String::from_utf8(p.out.clone()).unwrap();
        assert!(out.contains(" *1) claude") && out.contains("answer with a number from 1 to 3"));
        assert!(out.contains("answer y or n"));
    }

    #[test]
    fn end_of_input_is_a_cancel() {
        let mut p = lines("");
        let err = p.input("Token", None).unwrap_err();
        assert!(cancelled(&err));
        assert!(!cancelled(&io::Error::other("disk full")));
    }
}
