//! `ductor-agent`: one bot's worker process. Started by `ductor`, not by hand.

use clap::{Parser, Subcommand};
use ductor::agent::{self, AgentOptions, run_once::RunOnceArgs};
use ductor::logging::{self, LogOptions};
use ductor::paths::Home;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// One agent's worker process.
#[derive(Debug, Parser)]
#[command(
    name = "ductor-agent",
    version = ductor::VERSION,
    about = "One ductor agent (bot) process. It is started and supervised by `ductor`; \
             run `ductor` instead of starting it by hand."
)]
struct Args {
    /// ductor home.
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Agent name (`main` or a sub-agent from agents.json).
    #[arg(long, global = true, default_value = "main")]
    agent: String,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<AgentCommand>,
}

#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// Run one turn with a provider CLI and print its normalized events as JSON lines.
    RunOnce(RunOnceArgs),
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn main() -> ExitCode {
    // The per-run reaper must not parse the CLI's arguments: handle it first.
    let raw: Vec<OsString> = std::env::args_os().collect();
    if raw.get(1).is_some_and(|a| a == "__reap") && raw.get(2).is_some_and(|a| a == "--") {
        let Some(program) = raw.get(3) else {
            return exit(2);
        };
        return exit(ductor::provider::shim::run(program, &raw[4..]));
    }
    ductor::ipc::take_agent_token();
    let args = Args::parse();
    ductor::procs::restrict_umask();
    let home = Home::resolve(args.home.as_deref());
    let paths = home.agent(&args.agent);
    let level = ductor::config::load_agent(&home, &args.agent)
        .ok()
        .map(|c| c.log_level);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ductor-agent: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(AgentCommand::RunOnce(once)) = args.command {
        logging::init(&LogOptions {
            verbosity: args.verbose,
            config_level: Some("WARNING".into()),
            file: None,
            agent: Some(args.agent.clone()),
        });
        return exit(runtime.block_on(agent::run_once::run(&home, &args.agent, once)));
    }
    logging::init(&LogOptions {
        verbosity: args.verbose,
        config_level: level,
        file: Some(paths.log_file()),
        agent: Some(args.agent.clone()),
    });
    let opts = AgentOptions {
        home,
        name: args.agent,
        handle_signals: true,
    };
    let code = match runtime.block_on(agent::run(opts)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            e.exit_code()
        }
    };
    exit(code)
}
