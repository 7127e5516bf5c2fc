//! The bus: handshake, version and size limits, routing, stop-all fan-out, privacy.

use crate::support::daemon::{TestHome, agent_pid, token};
use ductor::ipc::message::{Body, Envelope, ErrorCode, Hello, PeerRole, Ping, StopAll};
use ductor::ipc::{BusClient, Connection, IpcError, MAX_FRAME, PROTOCOL_VERSION};
use futures_util::StreamExt;
use interprocess::local_socket::traits::tokio::Stream as _;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn hello_env(protocol: u32) -> Envelope {
    Envelope {
        v: protocol,
        id: 1,
        re: None,
        to: None,
        from: None,
        body: Body::Hello(Hello {
            role: PeerRole::Client,
            name: None,
            pid: std::process::id(),
            version: "test".into(),
            protocol,
        }),
    }
}

async fn started_home(subs: usize) -> (TestHome, crate::support::daemon::Daemon) {
    let home = TestHome::new();
    let entries: Vec<_> = (0..subs)
        .map(|i| json!({"name": format!("sub{}", i + 1), "telegram_token": token(100_000_002 + i as u64), "allowed_user_ids": [1]}))
        .collect();
    home.write_agents(&json!(entries));
    let daemon = home.start();
    let mut names = vec!["main".to_owned()];
    names.extend((0..subs).map(|i| format!("sub{}", i + 1)));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    home.wait_running(&names, Duration::from_secs(10)).await;
    (home, daemon)
}

#[tokio::test]
async fn another_protocol_version_is_refused_with_a_typed_error() {
    let (home, _d) = started_home(0).await;
    let mut conn = Connection::connect(&home.home().bus_socket())
        .await
        .unwrap();
    // A hello that claims protocol 2 inside a v2 envelope.
    conn.send_raw(serde_json::to_vec(&hello_env(PROTOCOL_VERSION + 1)).unwrap())
        .await
        .unwrap();
    let reply = conn.recv().await;
    match reply {
        Err(IpcError::VersionMismatch { theirs, .. }) => assert_eq!(theirs, PROTOCOL_VERSION),
        Ok(Some(env)) => match env.body {
            Body::Error(e) => assert_eq!(e.code, ErrorCode::VersionMismatch),
            other => panic!("expected a version error, got {other:?}"),
        },
        other => panic!("expected a version error, got {other:?}"),
    }
    // The connection is closed afterwards.
    assert!(matches!(conn.recv().await, Ok(None) | Err(_)));
    // The supervisor is unharmed.
    assert!(home.health().await.is_some());
}

#[tokio::test]
async fn oversized_frame_drops_the_connection_and_nothing_crashes() {
    let (home, _d) = started_home(0).await;
    let (client, _inbox) = BusClient::connect(&home.home().bus_socket(), PeerRole::Client, None)
        .await
        .unwrap();
    drop(client);
    let mut conn = Connection::connect(&home.home().bus_socket())
        .await
        .unwrap();
    conn.send(&hello_env(PROTOCOL_VERSION)).await.unwrap();
    let welcome = conn.recv().await.unwrap().unwrap();
    assert!(matches!(welcome.body, Body::Welcome(_)));
    // Sending side: the library refuses to build an oversized frame.
    let big = "x".repeat(MAX_FRAME + 10);
    let err = conn.send_raw(big.clone().into_bytes()).await.unwrap_err();
    assert!(matches!(err, IpcError::FrameTooLarge { .. }), "{err}");
    // Receiving side: hand-craft a frame header announcing 2 MiB.
    let mut raw = interprocess::local_socket::tokio::Stream::connect(
        interprocess::local_socket::ToFsName::to_fs_name::<
            interprocess::local_socket::GenericFilePath,
        >(home.home().bus_socket().as_path())
        .unwrap(),
    )
    .await
    .unwrap();
    let hello = serde_json::to_vec(&hello_env(PROTOCOL_VERSION)).unwrap();
    raw.write_all(&(hello.len() as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&hello).await.unwrap();
    raw.write_all(&(2 * MAX_FRAME as u32).to_be_bytes())
        .await
        .unwrap();
    let _ = raw.write_all(&vec![b'x'; 64 * 1024]).await;
    let mut framed =
        tokio_util::codec::Framed::new(raw, tokio_util::codec::LengthDelimitedCodec::new());
    let mut saw_error = false;
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_secs(3), framed.next()).await
    {
        let env: Envelope = serde_json::from_slice(&frame).unwrap();
        if let Body::Error(e) = env.body {
            assert_eq!(e.code, ErrorCode::FrameTooLarge);
            saw_error = true;
        }
    }
    assert!(saw_error, "the peer is told why before the hang-up");
    assert!(
        home.health().await.is_some(),
        "the supervisor keeps serving"
    );
}

#[tokio::test]
async fn ping_is_routed_to_the_named_agent_and_unknown_agents_are_reported() {
    let (home, _d) = started_home(2).await;
    let h = home.health().await.unwrap();
    let (client, _inbox) = BusClient::connect(&home.home().bus_socket(), PeerRole::Client, None)
        .await
        .unwrap();
    for name in ["main", "sub1", "sub2"] {
        let answer = client
            .request(
                Some(name),
                Body::Ping(Ping {
                    payload: format!("hi {name}"),
                }),
                Duration::from_secs(3),
            )
            .await
            .unwrap();
        let Body::Pong(p) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(p.agent, name);
        assert_eq!(p.pid, agent_pid(&h, name));
        assert_eq!(p.payload, format!("hi {name}"));
    }
    let err = client
        .request(
            Some("nosuch"),
            Body::Ping(Ping::default()),
            Duration::from_secs(3),
        )
        .await
        .unwrap_err();
    match err {
        IpcError::Remote(ErrorCode::UnknownAgent, msg) => {
            assert!(
                msg.contains("nosuch") && msg.contains("main, sub1, sub2"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stop_all_fans_out_to_every_agent_and_sums_their_counts() {
    let (home, _d) = started_home(2).await;
    let (client, _inbox) = BusClient::connect(&home.home().bus_socket(), PeerRole::Client, None)
        .await
        .unwrap();
    let answer = client
        .request(None, Body::StopAll(StopAll {}), Duration::from_secs(10))
        .await
        .unwrap();
    let Body::Stopped(s) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(s.agents, 3, "every agent answered");
    assert_eq!(s.count, 0, "nothing was running");
}

#[tokio::test]
async fn socket_is_private_and_other_users_are_refused() {
    let (home, _d) = started_home(0).await;
    let run = home.root.join("run");
    let mode = std::fs::metadata(&run).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let sock = home.home().bus_socket();
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    if !nix::unistd::geteuid().is_root() {
        return; // only root can impersonate another user here
    }
    // Open the doors on purpose: the peer-credential check alone must refuse.
    for dir in [&home.root, &run] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let hello = serde_json::to_vec(&hello_env(PROTOCOL_VERSION)).unwrap();
    let script = format!(
        "import socket,struct,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\nb={:?}.encode()\ns.sendall(struct.pack('>I',len(b))+b)\ns.settimeout(3)\nd=s.recv(65536)\nprint('GOT' if d else 'CLOSED')",
        sock.to_string_lossy(),
        String::from_utf8(hello).unwrap()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("CLOSED") || !out.status.success(),
        "another user was served: {stdout} {out:?}"
    );
    assert!(!stdout.contains("GOT"));
}
