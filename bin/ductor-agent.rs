//! `ductor-agent`: one bot's worker process. Started by `ductor`, not by hand.

use clap::Parser;
use ductor::agent::{self, AgentOptions};
use ductor::logging::{self, LogOptions};
use ductor::paths::Home;
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
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Agent name (`main` or a sub-agent from agents.json).
    #[arg(long, default_value = "main")]
    agent: String,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let home = Home::resolve(args.home.as_deref());
    let paths = home.agent(&args.agent);
    let level = agent::load_config(&home, &args.agent)
        .ok()
        .map(|c| c.log_level);
    logging::init(&LogOptions {
        verbosity: args.verbose,
        config_level: level,
        file: Some(paths.log_file()),
        agent: Some(args.agent.clone()),
    });
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
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
