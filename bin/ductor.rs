//! `ductor`: the supervisor (run without a command) and the management CLI.

use ductor::cli::{AgentsCommand, Command};
use ductor::logging::{self, LogOptions};
use ductor::supervisor::{self, RunOutcome, SupervisorOptions};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = ductor::cli::parse();
    ductor::procs::restrict_umask();
    let home = cli.home();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ductor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match cli.command {
        None | Some(Command::Run) => foreground(&home, cli.verbose, &runtime),
        Some(Command::Status) => runtime.block_on(ductor::cli::status::run(&home)),
        Some(Command::Stop) => runtime.block_on(ductor::cli::lifecycle::stop(&home)),
        Some(Command::Restart) => runtime.block_on(ductor::cli::lifecycle::restart(&home)),
        Some(Command::Agents(cmd)) => match cmd {
            AgentsCommand::List => runtime.block_on(ductor::cli::agents::list(&home)),
            AgentsCommand::Add(args) => ductor::cli::agents::add(&home, args, &runtime),
            AgentsCommand::Remove { name, yes } => ductor::cli::agents::remove(&home, &name, yes),
        },
        Some(Command::Ask(args)) => {
            runtime.block_on(ductor::cli::ask::run(cli.home.as_deref(), args))
        }
        Some(Command::SharedMemory(cmd)) => {
            ductor::cli::shared_memory::run(cli.home.as_deref(), cmd)
        }
        Some(Command::Task(cmd)) => {
            runtime.block_on(ductor::cli::task::run(cli.home.as_deref(), cmd))
        }
        Some(Command::Cron { agent, cmd }) => runtime.block_on(ductor::cli::cron::run(
            cli.home.as_deref(),
            agent.as_deref(),
            cmd,
        )),
        Some(Command::Media { agent, cmd }) => runtime.block_on(ductor::cli::media::run(
            cli.home.as_deref(),
            agent.as_deref(),
            cmd,
        )),
        Some(Command::Webhooks(cmd)) => {
            runtime.block_on(ductor::cli::webhooks::run(cli.home.as_deref(), cmd))
        }
        Some(Command::Api(cmd)) => runtime.block_on(ductor::cli::api::run(
            &ductor::cli::caller::home_of(cli.home.as_deref(), &|k| std::env::var(k).ok()),
            cmd,
        )),
        Some(Command::Docker(cmd)) => runtime.block_on(ductor::cli::docker::run(
            &ductor::cli::caller::home_of(cli.home.as_deref(), &|k| std::env::var(k).ok()),
            cmd,
        )),
        Some(Command::Config(cmd)) => ductor::cli::config::run(
            &ductor::cli::caller::home_of(cli.home.as_deref(), &|k| std::env::var(k).ok()),
            cmd,
        ),
        Some(Command::Doctor) => runtime.block_on(ductor::cli::doctor::run(&home)),
        Some(Command::Service(cmd)) => ductor::cli::service::run(&home, &cmd),
        Some(Command::Uninstall(args)) => runtime.block_on(ductor::cli::uninstall::run(
            &home,
            args,
            &mut std::io::stdin().lock(),
        )),
        Some(Command::Onboarding(args)) => {
            ductor::cli::onboarding::run(&home, &args, &runtime, false).exit_code()
        }
        Some(Command::Reset(args)) => {
            ductor::cli::onboarding::run(&home, &args, &runtime, true).exit_code()
        }
        Some(Command::Upgrade(args)) => runtime.block_on(ductor::cli::upgrade::run(&home, &args)),
        Some(Command::Completions { shell }) => {
            ductor::cli::print_completions(shell);
            0
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `ductor` / `ductor run`: the set-up wizard when the home is unconfigured and this is a
/// terminal, then the supervisor in the foreground.
fn foreground(home: &ductor::paths::Home, verbose: u8, runtime: &tokio::runtime::Runtime) -> i32 {
    // An unconfigured home on a terminal gets the set-up wizard first.
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) && ductor::cli::onboarding::needed(home)
    {
        let args = ductor::cli::onboarding::OnboardingArgs::default();
        match ductor::cli::onboarding::run(home, &args, runtime, false) {
            ductor::cli::onboarding::Finished::Written { service: false } => {}
            other => return other.exit_code(),
        }
    }
    logging::init(&LogOptions {
        verbosity: verbose,
        config_level: None,
        file: Some(home.supervisor_log()),
        agent: Some("supervisor".into()),
    });
    let opts = SupervisorOptions {
        home: home.clone(),
        verbosity: verbose,
        handle_signals: true,
        agent_bin: std::env::var_os("DUCTOR_AGENT_BIN").map(Into::into),
    };
    match runtime.block_on(supervisor::run(opts)) {
        Ok(RunOutcome::Stopped) => 0,
        Ok(RunOutcome::Restart) => restart_self(),
        Err(e) => {
            eprintln!("ductor: {e}");
            e.exit_code()
        }
    }
}

/// §1.4: under a service manager exit 42 so it restarts us; otherwise re-exec.
fn restart_self() -> i32 {
    if std::env::var_os("INVOCATION_ID").is_some()
        || std::env::var_os("DUCTOR_SUPERVISOR").is_some()
    {
        return ductor::supervisor::policy::EXIT_RESTART;
    }
    // After an upgrade the running file was replaced: exec the new one.
    let Ok(exe) = ductor::upgrade::own_exe() else {
        eprintln!("ductor: cannot find own executable to restart");
        return 1;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!("ductor: restart failed: {err}");
    1
}
