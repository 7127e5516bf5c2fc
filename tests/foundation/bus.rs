//! The bus: handshake, version and size limits, routing, stop-all fan-out, privacy.

use crate::support::daemon::{TestHome, agent_pid, token};
use ductor::ipc::codec::{BusCodec, Frame};
use ductor::ipc::message::{
    Body, Envelope, ErrorCode, HealthRequest, Hello, PeerRole, Ping, Pong, StopAll,
};
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
            token: None,
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
async fn an_oversized_frame_gets_an_error_and_the_connection_keeps_working() {
    let (home, _d) = started_home(0).await;
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
    // Receiving side: a hand-made frame of 2 MiB, then a normal request on the same
    // connection.
    let mut raw = interprocess::local_socket::tokio::Stream::connect(
        interprocess::local_socket::ToFsName::to_fs_name::<
            interprocess::local_socket::GenericFilePath,
        >(home.home().bus_socket().as_path())
        .unwrap(),
    )
    .await
    .unwrap();
    let frame = |env: &Envelope| {
        let body = serde_json::to_vec(env).unwrap();
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend(body);
        out
    };
    raw.write_all(&frame(&hello_env(PROTOCOL_VERSION)))
        .await
        .unwrap();
    raw.write_all(&(2 * MAX_FRAME as u32).to_be_bytes())
        .await
        .unwrap();
    raw.write_all(&vec![b'x'; 2 * MAX_FRAME]).await.unwrap();
    let mut health = hello_env(PROTOCOL_VERSION);
    health.id = 7;
    health.body = Body::HealthRequest(HealthRequest {});
    raw.write_all(&frame(&health)).await.unwrap();
    let mut framed = tokio_util::codec::Framed::new(raw, BusCodec::new(MAX_FRAME));
    let mut next = async || {
        let item = tokio::time::timeout(Duration::from_secs(10), framed.next())
            .await
            .expect("an answer in time")
            .expect("the connection stays open")
            .unwrap();
        let Frame::Data(bytes) = item else {
            panic!("oversized answer")
        };
        serde_json::from_slice::<Envelope>(&bytes).unwrap()
    };
    assert!(matches!(next().await.body, Body::Welcome(_)));
    let refused = next().await;
    let Body::Error(e) = refused.body else {
        panic!("{refused:?}")
    };
    assert_eq!(e.code, ErrorCode::FrameTooLarge);
    assert!(e.message.contains("2097152"), "{}", e.message);
    let answer = next().await;
    assert_eq!(answer.re, Some(7));
    assert!(matches!(answer.body, Body::Health(_)), "{answer:?}");
}

#[tokio::test]
async fn only_the_asked_agent_can_answer_a_request() {
    let (home, _d) = started_home(1).await;
    let h = home.health().await.unwrap();
    let sub1 = nix::unistd::Pid::from_raw(agent_pid(&h, "sub1") as i32);
    let socket = home.home().bus_socket();
    let (asker, _inbox) = BusClient::connect(&socket, PeerRole::Client, None)
        .await
        .unwrap();
    let (forger, _inbox2) = BusClient::connect(&socket, PeerRole::Client, None)
        .await
        .unwrap();
    // sub1 cannot answer while stopped: the ping stays pending in the hub.
    nix::sys::signal::kill(sub1, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let ping = tokio::spawn(async move {
        asker
            .request(
                Some("sub1"),
                Body::Ping(Ping {
                    payload: "real".into(),
                }),
                Duration::from_secs(30),
            )
            .await
    });
    // Another peer answers every request id the hub may have used, with a barrier
    // round trip after each round so the forgeries are read before sub1 resumes.
    for _ in 0..5 {
        for re in 1..=300 {
            let pong = Body::Pong(Pong {
                agent: "sub1".into(),
                pid: 1,
                payload: "forged".into(),
            });
            forger.reply(re, pong).await.unwrap();
        }
        forger
            .request(
                None,
                Body::HealthRequest(HealthRequest {}),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
    }
    nix::sys::signal::kill(sub1, nix::sys::signal::Signal::SIGCONT).unwrap();
    let answer = ping.await.unwrap().unwrap();
    let Body::Pong(p) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(p.payload, "real", "a forged answer reached the asker");
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
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test connects as another user, which needs root (CI runs as root)"
    );
    // Open the doors on purpose: the peer-credential check alone must refuse.
    let bus_dir = home.home().bus_dir();
    for dir in [&home.root, &run, &bus_dir] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let hello = serde_json::to_vec(&hello_env(PROTOCOL_VERSION)).unwrap();
    let script = format!(
        "import socket,struct,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\nprint('CONNECTED', flush=True)\nb={:?}.encode()\ntry:\n  s.sendall(struct.pack('>I',len(b))+b)\n  s.settimeout(3)\n  d=s.recv(65536)\nexcept OSError:\n  d=b''\nprint('GOT' if d else 'CLOSED')",
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
        stdout.contains("CONNECTED"),
        "the other user could not even connect, so the check was not reached: {out:?}"
    );
    assert!(
        stdout.contains("CLOSED") && !stdout.contains("GOT"),
        "another user was served: {out:?}"
    );
}
