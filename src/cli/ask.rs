//! `ductor ask`: an agent's CLI asks another agent (§7.3). Synchronous by default
//! (prints the answer); `--async` prints a task id at once and the answer comes
//! back later as a turn in the chat the question came from.

use super::caller::{Caller, caller};
use crate::ipc::message::{Ask, Body, ErrorCode, PeerRole};
use crate::ipc::{BusClient, IpcError};
use clap::Args;
use std::path::Path;
use std::time::Duration;

/// `ductor ask` arguments.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// Forget the previous conversation with that agent and start a new one.
    #[arg(long)]
    pub new: bool,
    /// Do not wait: print a task id; the answer arrives in this chat later.
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// Short description shown to the other agent's user (async only).
    #[arg(long, requires = "asynchronous")]
    pub summary: Option<String>,
    /// Deliver the async answer to this agent instead of the caller.
    #[arg(long = "reply-to", requires = "asynchronous", value_name = "AGENT")]
    pub reply_to: Option<String>,
    /// Do not tell the other agent's user about the async request.
    #[arg(long, requires = "asynchronous")]
    pub silent: bool,
    /// Seconds to wait for a synchronous answer.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// The agent to ask (see `ductor agents list`).
    pub agent: String,
    /// The message.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub message: Vec<String>,
}

/// Runs `ductor ask`; returns the exit code.
pub async fn run(home_flag: Option<&Path>, args: AskArgs) -> i32 {
    let who = match caller(home_flag, |k| std::env::var(k).ok()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ductor ask: {e}");
            return 1;
        }
    };
    match execute(&who, args).await {
        Ok(out) => {
            println!("{}", out.trim_end());
            0
        }
        Err(e) => {
            eprintln!("ductor ask: {e}");
            1
        }
    }
}

/// The request for `args` on behalf of `who`.
pub fn request(who: &Caller, args: &AskArgs, task_id: Option<String>) -> Ask {
    Ask {
        sender: who.agent.clone(),
        transport: who.transport.clone(),
        chat_id: who.chat_id,
        topic_id: who.topic_id,
        message: args.message.join(" ").trim().to_owned(),
        new_session: args.new,
        task_id,
        summary: args.summary.clone(),
        reply_to: args.reply_to.clone(),
        silent: args.silent,
    }
}

async fn execute(who: &Caller, args: AskArgs) -> Result<String, String> {
    if args.agent == who.agent {
        return Err(format!(
            "you are `{}`; ask another agent (see `ductor agents list`)",
            who.agent
        ));
    }
    let task_id = args.asynchronous.then(|| crate::util::random_hex(6));
    let ask = request(who, &args, task_id.clone());
    if ask.message.is_empty() {
        return Err("the message is empty".into());
    }
    super::caller::within_limit("message", &ask.message)?;
    let (client, _inbox) = BusClient::connect(
        &who.home.bus_socket(),
        PeerRole::Client,
        Some(format!("ask:{}", who.agent)),
    )
    .await
    .map_err(|e| format!("cannot reach ductor (is it running?): {e}"))?;
    let wait = if task_id.is_some() {
        Duration::from_secs(15)
    } else {
        Duration::from_secs(args.timeout.max(1))
    };
    match client
        .request(Some(&args.agent), Body::Ask(ask), wait)
        .await
    {
        Ok(Body::Answer(a)) => {
            if let Some(n) = a.notice {
                eprintln!("note: {n}");
            }
            Ok(a.text)
        }
        Ok(Body::Ack(_)) if task_id.is_some() => Ok(task_id.unwrap_or_default()),
        Ok(other) => Err(format!(
            "`{}` answered with an unexpected `{}`",
            args.agent,
            other.type_name()
        )),
        Err(IpcError::Remote(ErrorCode::UnknownAgent, message)) => Err(message),
        Err(IpcError::Remote(_, message)) => Err(format!("`{}` failed: {message}", args.agent)),
        Err(IpcError::Timeout) => Err(format!(
            "`{}` did not answer within {} s (it may still be working; raise --timeout or use --async)",
            args.agent,
            wait.as_secs()
        )),
        Err(e) => Err(e.to_string()),
    }
}
