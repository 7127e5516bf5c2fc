//! `ductor stop` and `ductor restart`: ask the running supervisor over the bus,
//! fall back to signals, and make sure nothing of that home keeps running.

use crate::ipc::BusClient;
use crate::ipc::message::{Body, PeerRole, Shutdown};
use crate::paths::Home;
use crate::pidlock;
use crate::procs;
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// How long `stop` waits for a graceful shutdown before killing.
const STOP_WAIT: Duration = Duration::from_secs(20);

async fn request_shutdown(home: &Home, restart: bool, reason: &str) -> Result<(), String> {
    let (client, _inbox) = BusClient::connect(&home.bus_socket(), PeerRole::Client, None)
        .await
        .map_err(|e| e.to_string())?;
    client
        .request(
            None,
            Body::Shutdown(Shutdown {
                reason: reason.to_owned(),
                restart,
            }),
            Duration::from_secs(5),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn wait_gone(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !procs::alive(pid as i32) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    !procs::alive(pid as i32)
}

/// Runs `ductor stop`; returns the exit code. A service installed for this home is
/// stopped through its manager first, so the manager does not start ductor again.
pub async fn stop(home: &Home) -> i32 {
    let service_stopped = crate::cli::service::stop_installed(home);
    let Some(pid) = pidlock::running_pid(&home.pid_file()) else {
        if !service_stopped {
            println!("ductor is not running (home {})", home.root().display());
        }
        return 0;
    };
    if let Err(e) = request_shutdown(home, false, "ductor stop").await {
        eprintln!("bus unavailable ({e}); sending SIGTERM to pid {pid}");
        procs::signal_pid(pid as i32, Signal::SIGTERM);
    }
    if !wait_gone(pid, STOP_WAIT).await {
        eprintln!("ductor (pid {pid}) did not stop in {STOP_WAIT:?}; killing it");
        procs::signal_pid(pid as i32, Signal::SIGKILL);
        wait_gone(pid, Duration::from_secs(5)).await;
    }
    println!("ductor stopped (pid {pid})");
    0
}

/// Runs `ductor restart`; returns the exit code.
pub async fn restart(home: &Home) -> i32 {
    if let Some(pid) = pidlock::running_pid(&home.pid_file()) {
        return match request_shutdown(home, true, "ductor restart").await {
            Ok(()) => {
                println!("restart requested (pid {pid})");
                0
            }
            Err(e) => {
                eprintln!("cannot reach the running ductor (pid {pid}): {e}");
                1
            }
        };
    }
    match start_detached(home) {
        Ok(pid) => {
            println!(
                "ductor started in the background (pid {pid}); logs in {}",
                home.root().join("logs").display()
            );
            0
        }
        Err(e) => {
            eprintln!("cannot start ductor: {e}");
            1
        }
    }
}

/// Starts `ductor` for `home` in a new session, detached from this terminal.
pub fn start_detached(home: &Home) -> std::io::Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let child = std::process::Command::new(exe)
        .arg("--home")
        .arg(home.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}
