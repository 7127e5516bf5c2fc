//! `ductor uninstall`: takes ductor off this machine for one home — stops it, removes
//! its service (when one is installed for this home), the sandbox container and image,
//! and, after asking, the home itself (sessions, memory, workspace, config with the
//! bot tokens). The program files stay: how to remove them depends on how ductor was
//! installed, so the last line says it.

use crate::cli::service::{Context, Platform, ServiceCommand};
use crate::paths::Home;
use std::io::BufRead;

/// Options of `ductor uninstall`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct UninstallArgs {
    /// Delete the home without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keep the home (only stop ductor and remove its service and sandbox).
    #[arg(long, conflicts_with = "yes")]
    pub keep_home: bool,
}

/// Removes the sandbox container and image of `home` (when it uses a container).
pub(crate) async fn remove_sandbox(home: &Home) -> Vec<String> {
    let mut said = Vec::new();
    let Ok(settings) = crate::sandbox::main_settings(home) else {
        return said;
    };
    let Ok(engine) = crate::sandbox::container::Engine::find(&settings.backend) else {
        return said;
    };
    match crate::sandbox::remove_container(&engine, &settings, home).await {
        Ok(Some(name)) => said.push(format!("removed the sandbox container {name}")),
        Ok(None) => {}
        Err(e) => said.push(format!("could not remove the sandbox container: {e}")),
    }
    if engine.image_exists(&settings.image).await {
        match engine.run(&["rmi", &settings.image]).await {
            Ok(_) => said.push(format!("removed the sandbox image {}", settings.image)),
            Err(e) => said.push(format!("kept the sandbox image {} ({e})", settings.image)),
        }
    }
    said
}

/// Asks whether to delete `home`; only `y`/`yes` counts.
fn confirm(home: &Home, input: &mut dyn BufRead) -> bool {
    println!(
        "Delete {} with its sessions, memory, workspace and config (bot tokens)? [y/N]",
        home.root().display()
    );
    let mut answer = String::new();
    if input.read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Runs `ductor uninstall`, reading the answer from `input`; returns the exit code.
pub async fn run(home: &Home, args: UninstallArgs, input: &mut dyn BufRead) -> i32 {
    let _ = crate::cli::lifecycle::stop(home).await;
    let ctx = Context::detect(home);
    let mut code = 0;
    if crate::cli::service::installed_for(Platform::current(), &ctx) {
        let rc = crate::cli::service::run(home, &ServiceCommand::Uninstall);
        if rc != 0 {
            eprintln!("ductor uninstall: the service could not be removed (see above)");
            code = 1;
        }
    }
    for line in remove_sandbox(home).await {
        println!("{line}");
    }
    if !home.root().exists() {
        println!("{} does not exist", home.root().display());
    } else if args.keep_home || !(args.yes || confirm(home, input)) {
        println!("kept {}", home.root().display());
    } else {
        match std::fs::remove_dir_all(home.root()) {
            Ok(()) => println!("deleted {}", home.root().display()),
            Err(e) => {
                eprintln!(
                    "ductor uninstall: cannot delete {}: {e}",
                    home.root().display()
                );
                code = 1;
            }
        }
    }
    println!(
        "The program itself stays: remove it with `cargo uninstall ductor`, your package manager, or by deleting {}.",
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| "the ductor binaries".into())
    );
    code
}
