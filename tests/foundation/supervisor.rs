//! Supervisor process model: start, restart policy, agents.json following, stop.

use crate::support::daemon::{TestHome, agent_pid, processes_of, token, wait_no_processes};
use ductor::ipc::message::AgentStatus;
use nix::sys::signal::Signal;
use serde_json::json;
use std::time::{Duration, Instant};

fn two_subs(home: &TestHome) {
    home.write_agents(&json!([
        {"name": "sub1", "telegram_token": token(100_000_002), "allowed_user_ids": [1_000_001]},
        {"name": "sub2", "telegram_token": token(100_000_003), "allowed_user_ids": [1_000_001]}
    ]));
}

#[tokio::test]
async fn main_and_two_subs_register_and_stop_cleanly() {
    let home = TestHome::new();
    two_subs(&home);
    let started = Instant::now();
    let mut daemon = home.start();
    let h = home
        .wait_running(&["main", "sub1", "sub2"], Duration::from_secs(10))
        .await;
    // How fast is measured by `cargo bench --bench foundation`, not here.
    eprintln!("all agents registered after {:?}", started.elapsed());
    assert_eq!(h.agents[0].name, "main", "main is listed first");
    assert_eq!(h.supervisor_pid, daemon.pid());
    for a in &h.agents {
        assert!(a.pid.is_some());
        assert_eq!(a.restart_count, 0);
    }
    // Each agent seeded its own home.
    assert!(
        home.root
            .join("workspace/memory_system/MAINMEMORY.md")
            .is_file()
    );
    assert!(
        home.root
            .join("agents/sub1/workspace/memory_system/MAINMEMORY.md")
            .is_file()
    );
    assert!(home.root.join("SHAREDMEMORY.md").is_file());
    assert!(!home.root.join("agents/sub1/SHAREDMEMORY.md").exists());

    let out = home.run(&["stop"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ductor stopped"));
    assert_eq!(daemon.wait(Duration::from_secs(10)), Some(0));
    wait_no_processes(&home.root, Duration::from_secs(10)).await;
    assert!(!home.root.join("run/ductor.pid").exists());
}

#[tokio::test]
async fn killed_sub_agent_comes_back_after_its_backoff() {
    let home = TestHome::new();
    two_subs(&home);
    let _daemon = home.start();
    let h = home
        .wait_running(&["main", "sub1", "sub2"], Duration::from_secs(10))
        .await;
    let old = agent_pid(&h, "sub1");
    let sub2 = agent_pid(&h, "sub2");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), Signal::SIGKILL).unwrap();
    let h = home
        .wait_health(Duration::from_secs(10), "sub1 back with a new pid", |h| {
            h.agents
                .iter()
                .any(|a| a.name == "sub1" && a.status == AgentStatus::Running && a.pid != Some(old))
        })
        .await;
    let sub1 = h.agents.iter().find(|a| a.name == "sub1").unwrap();
    assert_eq!(sub1.restart_count, 1);
    assert!(
        sub1.last_error.as_deref().unwrap().contains("SIGKILL"),
        "{sub1:?}"
    );
    assert_eq!(agent_pid(&h, "sub2"), sub2, "sub2 untouched");
    let sub2_entry = h.agents.iter().find(|a| a.name == "sub2").unwrap();
    assert_eq!(sub2_entry.restart_count, 0);
}

#[tokio::test]
async fn exit_42_restarts_at_once() {
    let home = TestHome::new();
    // A long backoff proves that exit code 42 does not wait for it.
    home.edit_config(|c| c["supervisor"]["restart_backoff_seconds"] = json!([120.0]));
    two_subs(&home);
    let _daemon = home.start();
    let h = home.wait_running(&["sub1"], Duration::from_secs(10)).await;
    let old = agent_pid(&h, "sub1");
    // SIGHUP makes an agent exit with code 42 ("restart me").
    let t = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), Signal::SIGHUP).unwrap();
    home.wait_health(
        Duration::from_secs(30),
        "sub1 restarted before its backoff",
        |h| {
            h.agents
                .iter()
                .any(|a| a.name == "sub1" && a.status == AgentStatus::Running && a.pid != Some(old))
        },
    )
    .await;
    eprintln!("restart after exit 42 took {:?}", t.elapsed());
}

#[tokio::test]
async fn sub_agent_is_given_up_after_repeated_crashes_but_main_is_not() {
    let home = TestHome::new();
    home.edit_config(|c| {
        c["supervisor"]["restart_backoff_seconds"] = json!([0.05]);
        c["supervisor"]["max_consecutive_failures"] = json!(2);
    });
    two_subs(&home);
    let _daemon = home.start();
    for round in 0..3 {
        let h = home
            .wait_health(Duration::from_secs(10), "sub1 running", |h| {
                h.agents
                    .iter()
                    .any(|a| a.name == "sub1" && a.status == AgentStatus::Running)
            })
            .await;
        let pid = agent_pid(&h, "sub1");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        if round == 2 {
            break;
        }
        home.wait_health(Duration::from_secs(10), "sub1 restarted", |h| {
            h.agents
                .iter()
                .any(|a| a.name == "sub1" && a.pid.is_some_and(|p| p != pid))
        })
        .await;
    }
    let h = home
        .wait_health(Duration::from_secs(10), "sub1 crashed", |h| {
            h.agents
                .iter()
                .any(|a| a.name == "sub1" && a.status == AgentStatus::Crashed)
        })
        .await;
    let sub1 = h.agents.iter().find(|a| a.name == "sub1").unwrap();
    assert!(sub1.pid.is_none());
    assert!(sub1.last_error.is_some());
    // main keeps being restarted however often it dies.
    for _ in 0..4 {
        let h = home.wait_running(&["main"], Duration::from_secs(10)).await;
        let pid = agent_pid(&h, "main");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        home.wait_health(Duration::from_secs(10), "main replaced", |h| {
            h.agents
                .iter()
                .any(|a| a.name == "main" && a.pid.is_some_and(|p| p != pid))
        })
        .await;
    }
    home.wait_running(&["main"], Duration::from_secs(10)).await;
}

#[tokio::test]
async fn agents_json_edits_start_and_stop_agents() {
    let home = TestHome::new();
    two_subs(&home);
    let _daemon = home.start();
    let h = home
        .wait_running(&["main", "sub1", "sub2"], Duration::from_secs(10))
        .await;
    let sub1_pid = agent_pid(&h, "sub1");

    // Remove sub2: it stops.
    home.write_agents(&json!([
        {"name": "sub1", "telegram_token": token(100_000_002), "allowed_user_ids": [1_000_001]}
    ]));
    let t = Instant::now();
    home.wait_health(Duration::from_secs(10), "sub2 gone", |h| {
        h.agents.iter().all(|a| a.name != "sub2")
    })
    .await;
    eprintln!("removed agent stopped after {:?}", t.elapsed());
    assert!(
        !processes_of(&home.root)
            .iter()
            .any(|(_, cmd)| cmd.contains("--agent sub2"))
    );
    assert!(home.root.join("agents/sub2").is_dir(), "data dir is kept");

    // Add sub3: it starts.
    home.write_agents(&json!([
        {"name": "sub1", "telegram_token": token(100_000_002), "allowed_user_ids": [1_000_001]},
        {"name": "sub3", "telegram_token": token(100_000_004), "allowed_user_ids": [1_000_001]}
    ]));
    let h = home.wait_running(&["sub3"], Duration::from_secs(10)).await;
    assert_eq!(
        agent_pid(&h, "sub1"),
        sub1_pid,
        "unchanged agents keep running"
    );

    // A malformed edit keeps everything as it is: once the supervisor has read it
    // (its log says so), the same agents run.
    home.write_agents_raw(b"[{\"name\": \"sub1\", ");
    let log_says = || {
        std::fs::read_to_string(home.root.join("supervisor.stderr"))
            .is_ok_and(|l| l.contains("agents.json") && l.contains("keeping the running agents"))
    };
    let t = Instant::now();
    while !log_says() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the malformed edit was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let h = home.health().await.unwrap();
    let running: Vec<&str> = h
        .agents
        .iter()
        .filter(|a| a.status == AgentStatus::Running)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(running, ["main", "sub1", "sub3"]);
    assert_eq!(agent_pid(&h, "sub1"), sub1_pid);

    // A changed token restarts that agent.
    home.write_agents(&json!([
        {"name": "sub1", "telegram_token": token(100_000_009), "allowed_user_ids": [1_000_001]},
        {"name": "sub3", "telegram_token": token(100_000_004), "allowed_user_ids": [1_000_001]}
    ]));
    home.wait_health(
        Duration::from_secs(10),
        "sub1 restarted for its new token",
        |h| {
            h.agents.iter().any(|a| {
                a.name == "sub1"
                    && a.status == AgentStatus::Running
                    && a.pid.is_some_and(|p| p != sub1_pid)
            })
        },
    )
    .await;
}

#[tokio::test]
async fn a_second_process_of_a_running_agent_is_refused() {
    let home = TestHome::new();
    let daemon = home.start();
    let h = home.wait_running(&["main"], Duration::from_secs(10)).await;
    let out = std::process::Command::new(crate::support::daemon::bin("ductor-agent"))
        .args(["--home"])
        .arg(&home.root)
        .args(["--agent", "main"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "the agent `main` is already running for {} (pid {})",
            home.root.display(),
            agent_pid(&h, "main")
        )),
        "{err}"
    );
    let again = home.health().await.unwrap();
    assert_eq!(
        agent_pid(&again, "main"),
        agent_pid(&h, "main"),
        "the running one is untouched"
    );
    drop(daemon);
}

#[tokio::test]
async fn second_supervisor_is_refused() {
    let home = TestHome::new();
    let daemon = home.start();
    home.wait_running(&["main"], Duration::from_secs(10)).await;
    let out = home.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "already running for {} (pid {})",
            home.root.display(),
            daemon.pid()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn sigterm_stops_everything_and_exits_zero() {
    let home = TestHome::new();
    two_subs(&home);
    let mut daemon = home.start();
    home.wait_running(&["main", "sub1", "sub2"], Duration::from_secs(10))
        .await;
    daemon.signal(Signal::SIGTERM);
    assert_eq!(daemon.wait(Duration::from_secs(10)), Some(0));
    wait_no_processes(&home.root, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn agents_exit_when_the_supervisor_dies() {
    let home = TestHome::new();
    two_subs(&home);
    let mut daemon = home.start();
    home.wait_running(&["main", "sub1", "sub2"], Duration::from_secs(10))
        .await;
    daemon.signal(Signal::SIGKILL);
    daemon.wait(Duration::from_secs(2));
    wait_no_processes(&home.root, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn restart_marker_restarts_the_whole_system() {
    let home = TestHome::new();
    let daemon = home.start();
    let h = home.wait_running(&["main"], Duration::from_secs(10)).await;
    let old_main = agent_pid(&h, "main");
    std::fs::write(home.root.join("restart-requested"), "1").unwrap();
    home.wait_health(Duration::from_secs(10), "a fresh main after re-exec", |h| {
        h.agents.iter().any(|a| {
            a.name == "main" && a.status == AgentStatus::Running && a.pid != Some(old_main)
        })
    })
    .await;
    assert!(
        !home.root.join("restart-requested").exists(),
        "marker consumed"
    );
    let h = home.health().await.unwrap();
    assert_eq!(h.supervisor_pid, daemon.pid(), "re-exec keeps the pid");
}
