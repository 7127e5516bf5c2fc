//! The container backends: a private Docker daemon and podman with a private store,
//! both running the test image (busybox, the host's node, the pinned CLIs mounted).

use super::bwrap::{
    a_live_turn_asks_and_runs_inside, stop_leaves_nothing, turn_task_and_cron_run_inside,
};
use super::{SbRig, assert_fails_closed, assert_ran_inside, proof_command};
use crate::support::daemon::TestHome;
use crate::support::sandbox::{self, Engine, docker::PrivateDocker, podman::Podman};
use serde_json::{Value, json};

const IMAGE: &str = "ductor-sandbox-test";
const CONTAINER: &str = "ductor-test-box";

/// The sandbox block for `backend` with the test image (not built by ductor), the
/// host network (the mock model API is on loopback) and the CLIs mounted at
/// `/mnt/provider-clis`, where the image's `PATH` finds them.
fn block(backend: &str) -> Value {
    json!({
        "backend": backend,
        "image": IMAGE,
        "container": CONTAINER,
        "auto_build": false,
        "network": "host",
        "mounts": [sandbox::provider_clis_dir()],
        "env": ["MOCK_LLM_API_KEY"],
    })
}

async fn rig_on(engine: &dyn Engine, backend: &str) -> SbRig {
    sandbox::build_test_image(engine, IMAGE);
    SbRig::start("claude", block(backend), &engine.env()).await
}

fn container_running(engine: &dyn Engine) -> bool {
    let out = engine.output(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Running}}",
        CONTAINER,
    ]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "true"
}

#[tokio::test]
async fn a_docker_turn_task_and_cron_run_inside_and_the_config_stays_out() {
    let docker = PrivateDocker::start();
    let mut rig = rig_on(&docker, "docker").await;
    turn_task_and_cron_run_inside(&rig).await;
    assert!(container_running(&docker));
    // Nothing secret is in the container's own settings.
    let inspect = docker.run(&["container", "inspect", CONTAINER]);
    assert!(!inspect.contains("mock-anthropic-key") && !inspect.contains("telegram_token"));
    assert!(
        !inspect.contains(&format!("\"{}:", rig.home.root.display())),
        "the home is not mounted whole"
    );
    // Stopping ductor removes the container.
    drop(rig.daemon.take());
    let left = docker.output(&["container", "inspect", CONTAINER]);
    assert!(!left.status.success(), "the container outlived ductor");
}

#[tokio::test]
async fn a_live_docker_turn_asks_and_runs_inside() {
    let docker = PrivateDocker::start();
    sandbox::build_test_image(&docker, IMAGE);
    let rig = SbRig::start_with("claude", block("docker"), &docker.env(), |c| {
        c["permission_mode"] = json!("default");
    })
    .await;
    a_live_turn_asks_and_runs_inside(&rig, "exec -i").await;
    let inside = docker.run(&[
        "exec",
        CONTAINER,
        "sh",
        "-c",
        "cat /proc/[0-9]*/cmdline | tr '\\000' ' '",
    ]);
    assert!(!inside.contains("--permission-prompt-tool"), "{inside}");
}

#[tokio::test]
async fn stop_during_a_docker_run_leaves_no_process_inside_or_outside() {
    let docker = PrivateDocker::start();
    let rig = rig_on(&docker, "docker").await;
    stop_leaves_nothing(&rig).await;
    let inside = docker.run(&[
        "exec",
        CONTAINER,
        "sh",
        "-c",
        "cat /proc/[0-9]*/cmdline | tr '\\000' ' '",
    ]);
    assert!(!inside.contains("sleep 30"), "{inside}");
}

#[tokio::test]
async fn a_removed_container_comes_back_and_a_stopped_engine_fails_closed() {
    let docker = PrivateDocker::start();
    let mut rig = rig_on(&docker, "docker").await;
    rig.tool("echo first > first.txt").await;
    assert!(container_running(&docker));
    docker.run(&["rm", "-f", CONTAINER]);
    rig.tool(&proof_command(&rig)).await;
    assert_ran_inside(&rig);
    assert!(container_running(&docker), "made again on the next turn");
    drop(docker);
    assert_fails_closed(&rig, "does not answer").await;
    // Stopping ductor with the engine gone is not an error.
    drop(rig.daemon.take());
}

#[tokio::test]
async fn a_podman_turn_runs_inside_and_stop_leaves_nothing() {
    let podman = Podman::new();
    let rig = rig_on(&podman, "podman").await;
    rig.tool(&proof_command(&rig)).await;
    assert_ran_inside(&rig);
    stop_leaves_nothing(&rig).await;
}

#[tokio::test]
async fn docker_rebuild_builds_the_configured_image_and_status_shows_it() {
    let docker = PrivateDocker::start();
    let base = sandbox::local_base(&docker);
    let home = TestHome::new();
    let dockerfile = home.root.join("Dockerfile.test");
    std::fs::write(
        &dockerfile,
        format!("FROM {base}\nRUN echo built > /built.txt\n"),
    )
    .unwrap();
    home.edit_config(|c| {
        c["sandbox"] = json!({
            "backend": "docker", "image": "ductor-built", "container": "ductor-built-box",
            "dockerfile": dockerfile, "auto_build": false,
        });
    });
    let run = |args: &[&str]| {
        home.ductor()
            .envs(docker.env())
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let status = run(&["docker", "status"]);
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert_eq!(
        status.status.code(),
        Some(1),
        "a missing image without auto_build is a problem: {text}"
    );
    assert!(
        text.contains("ductor-built (missing; run `ductor docker rebuild`)"),
        "{text}"
    );
    let built = run(&["docker", "rebuild"]);
    let out = String::from_utf8_lossy(&built.stdout).into_owned();
    assert!(
        built.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(
        out.contains("[2/2]") && out.contains("Built ductor-built in"),
        "{out}"
    );
    assert_eq!(
        docker.run(&["run", "--rm", "ductor-built", "cat", "/built.txt"]),
        "built"
    );
    let status = run(&["docker", "status"]);
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("image: ductor-built (present)") && text.contains("engine: docker"),
        "{text}"
    );
    // Without an engine the same command says why, in one line.
    let gone = home
        .ductor()
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .args(["docker", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&gone.stdout).into_owned();
    assert!(
        text.contains("✗ engine: the docker engine is not reachable"),
        "{text}"
    );
}

#[tokio::test]
async fn a_cli_missing_from_the_image_is_reported_as_missing() {
    let docker = PrivateDocker::start();
    sandbox::build_test_image(&docker, IMAGE);
    let mut without_clis = block("docker");
    without_clis["mounts"] = json!([]);
    let rig = SbRig::start("claude", without_clis, &docker.env()).await;
    let sent = rig.say("hello");
    let msgs = rig.wait_text(sent.message_id, "is not installed").await;
    let text: String = msgs.iter().filter_map(|m| m.text.clone()).collect();
    assert!(text.contains("Claude"), "{text}");
    assert!(rig.mock.requests().is_empty(), "{}", rig.mock.summary());
}
