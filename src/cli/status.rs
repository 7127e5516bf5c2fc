//! `ductor status`: running or not, pid, uptime, and each agent's health from the
//! bus. Works when ductor is stopped too (then it shows the configured agents).

use crate::config;
use crate::ipc::BusClient;
use crate::ipc::message::{AgentHealth, AgentStatus, Body, HealthRequest, PeerRole};
use crate::paths::{Home, MAIN_AGENT};
use crate::pidlock;
use std::fmt::Write as _;
use std::time::Duration;

/// Exit code of `status` when ductor is not running (LSB convention).
pub const EXIT_NOT_RUNNING: i32 = 3;

/// Formats seconds like the original: `45s`, `12m`, `3.5h`, `2.1d`.
pub fn uptime_human(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{:.1}h", secs as f64 / 3600.0),
        _ => format!("{:.1}d", secs as f64 / 86_400.0),
    }
}

/// Asks the running supervisor for every agent's health.
pub async fn fetch_health(home: &Home) -> Result<crate::ipc::message::HealthReport, String> {
    let (client, _inbox) = BusClient::connect(&home.bus_socket(), PeerRole::Client, None)
        .await
        .map_err(|e| e.to_string())?;
    match client
        .request(
            None,
            Body::HealthRequest(HealthRequest {}),
            Duration::from_secs(5),
        )
        .await
    {
        Ok(Body::Health(h)) => Ok(h),
        Ok(other) => Err(format!("unexpected answer `{}`", other.type_name())),
        Err(e) => Err(e.to_string()),
    }
}

fn status_word(s: AgentStatus) -> &'static str {
    match s {
        AgentStatus::Starting => "starting",
        AgentStatus::Running => "running",
        AgentStatus::Crashed => "crashed",
        AgentStatus::Stopped => "stopped",
    }
}

/// Renders the agent table.
pub fn render_table(rows: &[AgentHealth]) -> String {
    let mut out = format!(
        "{:<16} {:<9} {:>8} {:>7} {:>8}  {}\n",
        "AGENT", "STATUS", "PID", "UPTIME", "RESTARTS", "LAST ERROR"
    );
    for r in rows {
        let pid = r.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        let up = if r.status == AgentStatus::Running {
            uptime_human(r.uptime_seconds)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<16} {:<9} {:>8} {:>7} {:>8}  {}",
            r.name,
            status_word(r.status),
            pid,
            up,
            r.restart_count,
            r.last_error.as_deref().unwrap_or("")
        );
    }
    out
}

/// Runs `ductor status`; returns the exit code.
pub async fn run(home: &Home) -> i32 {
    println!("ductor {} — home {}", crate::VERSION, home.root().display());
    let Some(pid) = pidlock::running_pid(&home.pid_file()) else {
        println!("status: not running");
        print_configured(home);
        return EXIT_NOT_RUNNING;
    };
    match fetch_health(home).await {
        Ok(h) => {
            println!(
                "status: running (pid {pid}, up {})",
                uptime_human(h.supervisor_uptime_seconds)
            );
            print!("{}", render_table(&h.agents));
            0
        }
        Err(e) => {
            println!("status: running (pid {pid}), but the bus did not answer: {e}");
            1
        }
    }
}

fn print_configured(home: &Home) {
    match config::load_config_file(&home.main().config_file()) {
        Ok(c) => println!("main: {} / {}", c.config.provider, c.config.model),
        Err(e) => println!("config: {e}"),
    }
    match config::load_agents(&home.agents_file()) {
        Ok(entries) if entries.is_empty() => println!("sub-agents: none"),
        Ok(entries) => {
            let names: Vec<&str> = std::iter::once(MAIN_AGENT)
                .chain(entries.iter().map(|e| e.name.as_str()))
                .collect();
            println!("agents: {}", names.join(", "));
        }
        Err(e) => println!("agents.json: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_formats() {
        assert_eq!(uptime_human(45), "45s");
        assert_eq!(uptime_human(720), "12m");
        assert_eq!(uptime_human(12_600), "3.5h");
        assert_eq!(uptime_human(181_440), "2.1d");
    }
}
