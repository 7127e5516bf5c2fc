//! What a button does, as a typed value. Transports carry actions their own way:
//! Telegram as callback data (the compact form of [`Action::encode`], at most 64
//! bytes, the same strings the original used, so buttons of messages sent before an
//! update keep working), others as numbered choices.

use crate::provider::ProviderKind;
use std::fmt::Write as _;

/// Longest compact form (Telegram's callback data limit).
pub const MAX_ENCODED: usize = 64;

/// Namespace of the buttons the model writes.
const ANSWER: &str = "a:";

/// One step of the `/model` wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStep {
    /// Show the models of a provider (`ms:p:<provider>`).
    Provider(ProviderKind),
    /// A model was picked (`ms:m:<model>`): switch, or ask for the effort.
    Model(String),
    /// Model and effort were picked (`ms:r:<effort>:<model>`).
    ModelEffort {
        /// The effort.
        effort: String,
        /// The model.
        model: String,
    },
    /// `/effort` picked an effort for this conversation (`ms:e:<effort>`).
    Effort(String),
    /// Back to the providers (`ms:b:root`) or to a provider's models (`ms:b:<provider>`).
    Back(Option<ProviderKind>),
    /// Data the wizard does not understand (an outdated menu).
    Stale,
}

/// A button of a live CLI's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskButton {
    /// Allow once (`o`).
    Once,
    /// Allow for this session (`s`).
    Session,
    /// Always allow (`a`).
    Always,
    /// Deny (`d`).
    Deny,
    /// Option `n` of the question (`0`…).
    Option(u8),
}

impl AskButton {
    fn code(self) -> String {
        match self {
            Self::Once => "o".into(),
            Self::Session => "s".into(),
            Self::Always => "a".into(),
            Self::Deny => "d".into(),
            Self::Option(n) => n.to_string(),
        }
    }

    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "o" => Self::Once,
            "s" => Self::Session,
            "a" => Self::Always,
            "d" => Self::Deny,
            n => Self::Option(n.parse().ok()?),
        })
    }
}

/// A button press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A welcome-screen prompt (`w:<n>`).
    Welcome(u8),
    /// Cancel a queued message (`mq:<entry>`).
    CancelQueued(u64),
    /// Run an interrupted turn again (`rt:<conversation key>`).
    Retry(String),
    /// The model wizard (`ms:…`).
    Model(ModelStep),
    /// `/sessions`: refresh (`nsc:r`).
    SessionsRefresh,
    /// `/sessions`: end one (`nsc:end:<name>`).
    SessionEnd(String),
    /// `/sessions`: end all (`nsc:endall`).
    SessionsEndAll,
    /// A button of a named session's result: a follow-up in that session
    /// (`ns:<name>:<label>`).
    SessionButton {
        /// The session.
        name: String,
        /// The button's label, sent as the follow-up.
        label: String,
    },
    /// `/tasks`: refresh (`tsc:r`).
    TasksRefresh,
    /// `/tasks`: cancel one (`tsc:cancel:<id>`).
    TaskCancel(String),
    /// `/tasks`: cancel all (`tsc:cancelall`).
    TasksCancelAll,
    /// `/tasks`: delete the finished ones (`tsc:cleanup`).
    TasksCleanup,
    /// `/cron`: refresh (`crn:r`).
    CronRefresh,
    /// `/cron`: switch a job on or off (`crn:t:<id>`).
    CronToggle(String),
    /// `/cron`: run a job now (`crn:x:<id>`).
    CronRun(String),
    /// `/showfiles`: open a folder (`sf:<path or #token>`).
    Browse(String),
    /// `/showfiles`: ask the agent for the files of a folder (`sf!<path or #token>`).
    RequestFiles(String),
    /// Upgrade ductor to this version (`upg:yes:<version>`).
    Upgrade(String),
    /// Leave the update offer (`upg:no`).
    UpgradeDismiss,
    /// Stop the reply streaming into this message (`sp`).
    StopTurn,
    /// Steer: add a queued message to the running turn (`st:<entry>`).
    Steer(u64),
    /// An answer to a live CLI's request (`ak:<key>:<choice>`).
    Ask {
        /// The hub's key of the request.
        key: String,
        /// What was pressed.
        choice: AskButton,
    },
    /// A button the agent wrote (`[button:Label]`): its label becomes the next message
    /// (`a:<label>`; the model's buttons have their own namespace, so a label that
    /// looks like one of ductor's actions is still only an answer).
    Answer(String),
    /// A link: opens this URL in the user's client. It has no compact form (an empty
    /// one): transports show it as a link ([`super::Button::url`]), never as callback
    /// data, and no callback decodes to it.
    Open(String),
}

/// The longest prefix of `s` that fits in `max` bytes.
fn fit(s: &str, max: usize) -> &str {
    crate::util::truncate_bytes(s, max)
}

impl Action {
    /// The compact form (at most [`MAX_ENCODED`] bytes; free text is cut to fit).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        match self {
            Self::Welcome(n) => {
                let _ = write!(out, "w:{n}");
            }
            Self::CancelQueued(e) => {
                let _ = write!(out, "mq:{e}");
            }
            Self::Retry(key) => {
                let _ = write!(out, "rt:{key}");
            }
            Self::Model(step) => match step {
                ModelStep::Provider(p) => {
                    let _ = write!(out, "ms:p:{p}");
                }
                ModelStep::Model(m) => {
                    let _ = write!(out, "ms:m:{m}");
                }
                ModelStep::ModelEffort { effort, model } => {
                    let _ = write!(out, "ms:r:{effort}:{model}");
                }
                ModelStep::Effort(e) => {
                    let _ = write!(out, "ms:e:{e}");
                }
                ModelStep::Back(None) => out.push_str("ms:b:root"),
                ModelStep::Back(Some(p)) => {
                    let _ = write!(out, "ms:b:{p}");
                }
                ModelStep::Stale => out.push_str("ms:?"),
            },
            Self::SessionsRefresh => out.push_str("nsc:r"),
            Self::SessionEnd(name) => {
                let _ = write!(out, "nsc:end:{name}");
            }
            Self::SessionsEndAll => out.push_str("nsc:endall"),
            Self::SessionButton { name, label } => {
                let _ = write!(out, "ns:{name}:{label}");
            }
            Self::TasksRefresh => out.push_str("tsc:r"),
            Self::TaskCancel(id) => {
                let _ = write!(out, "tsc:cancel:{id}");
            }
            Self::TasksCancelAll => out.push_str("tsc:cancelall"),
            Self::TasksCleanup => out.push_str("tsc:cleanup"),
            Self::CronRefresh => out.push_str("crn:r"),
            Self::CronToggle(id) => {
                let _ = write!(out, "crn:t:{id}");
            }
            Self::CronRun(id) => {
                let _ = write!(out, "crn:x:{id}");
            }
            Self::Browse(p) => {
                let _ = write!(out, "sf:{p}");
            }
            Self::RequestFiles(p) => {
                let _ = write!(out, "sf!{p}");
            }
            Self::Upgrade(v) => {
                let _ = write!(out, "upg:yes:{v}");
            }
            Self::UpgradeDismiss => out.push_str("upg:no"),
            Self::StopTurn => out.push_str("sp"),
            Self::Steer(e) => {
                let _ = write!(out, "st:{e}");
            }
            Self::Ask { key, choice } => {
                let _ = write!(out, "ak:{key}:{}", choice.code());
            }
            Self::Answer(label) => {
                let _ = write!(out, "{ANSWER}{label}");
            }
            Self::Open(_) => {}
        }
        fit(&out, MAX_ENCODED).to_owned()
    }

    /// Whether the compact form holds the action whole (nothing cut).
    pub fn fits(&self) -> bool {
        let full = match self {
            Self::Answer(l) => ANSWER.len() + l.len(),
            Self::SessionButton { name, label } => 4 + name.len() + label.len(),
            Self::Browse(p) | Self::RequestFiles(p) => 3 + p.len(),
            Self::Model(ModelStep::Model(m)) => 5 + m.len(),
            Self::Model(ModelStep::ModelEffort { effort, model }) => 6 + effort.len() + model.len(),
            _ => 0,
        };
        full <= MAX_ENCODED
    }

    /// Reads a compact form. Anything that is not one of ductor's own forms is an
    /// agent-authored answer (buttons sent before answers had their `a:` namespace
    /// carry the bare label).
    pub fn decode(data: &str) -> Self {
        if let Some(label) = data.strip_prefix(ANSWER) {
            return Self::Answer(label.to_owned());
        }
        if let Some(n) = data.strip_prefix("w:")
            && let Ok(n) = n.parse()
        {
            return Self::Welcome(n);
        }
        if let Some(e) = data.strip_prefix("mq:")
            && let Ok(e) = e.parse()
        {
            return Self::CancelQueued(e);
        }
        if let Some(e) = data.strip_prefix("st:")
            && let Ok(e) = e.parse()
        {
            return Self::Steer(e);
        }
        if let Some(rest) = data.strip_prefix("ak:")
            && let Some((key, code)) = rest.split_once(':')
            && let Some(choice) = AskButton::parse(code)
        {
            return Self::Ask {
                key: key.to_owned(),
                choice,
            };
        }
        if let Some(k) = data.strip_prefix("rt:") {
            return Self::Retry(k.to_owned());
        }
        if let Some(rest) = data.strip_prefix("ms:") {
            return Self::Model(model_step(rest));
        }
        match data {
            "nsc:r" => return Self::SessionsRefresh,
            "nsc:endall" => return Self::SessionsEndAll,
            "tsc:r" => return Self::TasksRefresh,
            "tsc:cancelall" => return Self::TasksCancelAll,
            "tsc:cleanup" => return Self::TasksCleanup,
            "crn:r" => return Self::CronRefresh,
            "upg:no" => return Self::UpgradeDismiss,
            "sp" => return Self::StopTurn,
            _ => {}
        }
        if let Some(name) = data.strip_prefix("nsc:end:") {
            return Self::SessionEnd(name.to_owned());
        }
        if let Some(id) = data.strip_prefix("tsc:cancel:") {
            return Self::TaskCancel(id.to_owned());
        }
        if let Some(id) = data.strip_prefix("crn:t:") {
            return Self::CronToggle(id.to_owned());
        }
        if let Some(id) = data.strip_prefix("crn:x:") {
            return Self::CronRun(id.to_owned());
        }
        if let Some(v) = data.strip_prefix("upg:yes:") {
            return Self::Upgrade(v.to_owned());
        }
        if let Some(rest) = data.strip_prefix("ns:")
            && let Some((name, label)) = rest.split_once(':')
        {
            return Self::SessionButton {
                name: name.to_owned(),
                label: label.to_owned(),
            };
        }
        if let Some(p) = data.strip_prefix("sf:") {
            return Self::Browse(p.to_owned());
        }
        if let Some(p) = data.strip_prefix("sf!") {
            return Self::RequestFiles(p.to_owned());
        }
        Self::Answer(data.to_owned())
    }
}

fn model_step(rest: &str) -> ModelStep {
    let parts: Vec<&str> = rest.splitn(2, ':').collect();
    match parts.as_slice() {
        ["p", p] => p.parse().map_or(ModelStep::Stale, ModelStep::Provider),
        ["m", m] if !m.is_empty() => ModelStep::Model((*m).to_owned()),
        ["r", rest] => match rest.split_once(':') {
            Some((effort, model)) if !effort.is_empty() => ModelStep::ModelEffort {
                effort: effort.to_owned(),
                model: model.to_owned(),
            },
            _ => ModelStep::Stale,
        },
        ["e", e] if !e.is_empty() => ModelStep::Effort((*e).to_owned()),
        ["b", "root"] => ModelStep::Back(None),
        ["b", p] => p
            .parse()
            .map_or(ModelStep::Stale, |p| ModelStep::Back(Some(p))),
        _ => ModelStep::Stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<Action> {
        vec![
            Action::Welcome(2),
            Action::CancelQueued(1_767_000_000_123),
            Action::Retry("tg:-100123:45".into()),
            Action::Model(ModelStep::Provider(ProviderKind::Codex)),
            Action::Model(ModelStep::Model("gpt-5.5".into())),
            Action::Model(ModelStep::ModelEffort {
                effort: "high".into(),
                model: "opus".into(),
            }),
            Action::Model(ModelStep::Effort("low".into())),
            Action::Model(ModelStep::Back(None)),
            Action::Model(ModelStep::Back(Some(ProviderKind::Gemini))),
            Action::SessionsRefresh,
            Action::SessionEnd("firmowl".into()),
            Action::SessionsEndAll,
            Action::SessionButton {
                name: "firmowl".into(),
                label: "Yes: go on".into(),
            },
            Action::TasksRefresh,
            Action::TaskCancel("0badcafe".into()),
            Action::TasksCancelAll,
            Action::TasksCleanup,
            Action::Browse("workspace/tools".into()),
            Action::Browse("#0123456789abcdef".into()),
            Action::RequestFiles(String::new()),
            Action::Upgrade("0.21.0".into()),
            Action::UpgradeDismiss,
            Action::Steer(1_767_000_000_124),
            Action::StopTurn,
            Action::Ask {
                key: "a1b2c".into(),
                choice: AskButton::Session,
            },
            Action::Ask {
                key: "a1b2d".into(),
                choice: AskButton::Option(3),
            },
            Action::Answer("Deploy now".into()),
        ]
    }

    #[test]
    fn every_variant_round_trips_within_64_bytes() {
        for a in every_variant() {
            let data = a.encode();
            assert!(data.len() <= MAX_ENCODED, "{a:?} → {data}");
            assert_eq!(Action::decode(&data), a, "{data}");
        }
        let stale = Action::Model(ModelStep::Stale);
        assert_eq!(Action::decode(&stale.encode()), stale);
    }

    #[test]
    fn the_original_callback_strings_decode() {
        assert_eq!(Action::decode("w:1"), Action::Welcome(1));
        assert_eq!(
            Action::decode("ms:r:xhigh:gpt-5.5"),
            Action::Model(ModelStep::ModelEffort {
                effort: "xhigh".into(),
                model: "gpt-5.5".into()
            })
        );
        assert_eq!(
            Action::decode("ms:p:grok"),
            Action::Model(ModelStep::Stale),
            "a provider this build does not know"
        );
        assert_eq!(Action::decode("ms:zz"), Action::Model(ModelStep::Stale));
        assert_eq!(Action::decode("mq:x"), Action::Answer("mq:x".into()));
        assert_eq!(
            Action::decode("anything"),
            Action::Answer("anything".into())
        );
        assert_eq!(Action::decode(""), Action::Answer(String::new()));
    }

    #[test]
    fn a_model_button_labelled_like_an_action_stays_an_answer() {
        for label in [
            "ms:m:opus",
            "tsc:cancelall",
            "nsc:endall",
            "rt:tg:1",
            "sf:/etc",
            "a:x",
        ] {
            let data = Action::Answer(label.into()).encode();
            assert_eq!(
                Action::decode(&data),
                Action::Answer(label.into()),
                "{data}"
            );
        }
    }

    #[test]
    fn long_free_text_is_cut_on_a_character_boundary() {
        let label = "ä".repeat(40);
        let a = Action::Answer(label.clone());
        assert!(!a.fits());
        let data = a.encode();
        let kept = data.strip_prefix("a:").unwrap();
        assert!(data.len() <= MAX_ENCODED && label.starts_with(kept));
        let b = Action::SessionButton {
            name: "firmowl".into(),
            label: "x".repeat(80),
        };
        let decoded = Action::decode(&b.encode());
        assert!(matches!(decoded, Action::SessionButton { name, .. } if name == "firmowl"));
    }
}
