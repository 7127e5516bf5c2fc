use super::*;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What codex 0.169.0's `app-server` printed for `initialize` + `model/list`
/// (offline; installation id and home redacted).
const CAPTURED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/codex/app-server-model-list-0.169.0.jsonl"
));

fn captured_result() -> Value {
    CAPTURED
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|m| m["id"] == 2)
        .unwrap()["result"]
        .clone()
}

fn ids(models: &[CodexModel]) -> Vec<&str> {
    models.iter().map(|m| m.id.as_str()).collect()
}

#[test]
fn parses_the_captured_model_list() {
    let (models, next) = parse_model_page(&captured_result()).unwrap();
    assert_eq!(next, None);
    assert_eq!(
        ids(&models),
        [
            "gpt-6.1-sol",
            "gpt-6-astra",
            "gpt-6-sol",
            "gpt-6-luna",
            "gpt-5.6-sol",
            "gpt-6.1-terra",
            "gpt-5.6-terra",
            "gpt-5.6-luna",
            "gpt-5.5"
        ]
    );
    let first = &models[0];
    assert!(first.is_default);
    assert_eq!(first.display_name, "GPT-6.1-Sol");
    assert_eq!(
        first.description,
        "Latest workhorse model for coding and everyday work."
    );
    assert_eq!(first.default_effort.as_deref(), Some("low"));
    assert_eq!(
        first.supported_efforts,
        ["low", "medium", "high", "xhigh", "max", "ultra"]
    );
    assert_eq!(models.iter().filter(|m| m.is_default).count(), 1);
    let last = models.last().unwrap();
    assert_eq!(last.supported_efforts, ["low", "medium", "high", "xhigh"]);
    assert_eq!(last.default_effort.as_deref(), Some("medium"));

    // The catalogue built from it offers exactly these, with their efforts.
    let cat = ModelCatalogue::default();
    assert!(cat.set_codex_models(models.clone()));
    assert!(
        !cat.set_codex_models(models.clone()),
        "same list: no change"
    );
    assert!(!cat.set_codex_models(Vec::new()), "empty never replaces");
    let p = crate::provider::ProviderKind::Codex;
    assert_eq!(cat.models(p), ids(&models));
    assert_eq!(cat.default_model(p).as_deref(), Some("gpt-6.1-sol"));
    assert_eq!(
        cat.efforts(p, "GPT-6-LUNA"),
        ["low", "medium", "high", "xhigh", "max"]
    );
    assert!(cat.contains(p, "gpt-6-astra") && !cat.contains(p, "gpt-5.4"));
}

#[test]
fn malformed_pages_are_errors_and_hidden_models_are_left_out() {
    let bad = [
        json!({}),
        json!({"data": {}}),
        json!({"data": [{"displayName": "no id"}]}),
        json!({"data": [{"id": " "}]}),
        json!({"data": [{"id": "a", "supportedReasoningEfforts": "low"}]}),
        json!({"data": [{"id": "a", "supportedReasoningEfforts": [{"x": 1}]}]}),
        json!({"data": [{"id": "a"}], "nextCursor": 7}),
    ];
    for page in bad {
        assert!(
            matches!(parse_model_page(&page), Err(DiscoverError::Garbage(_))),
            "{page}"
        );
    }
    let (models, next) = parse_model_page(&json!({
        "data": [{"id": "secret", "hidden": true}, {"id": "plain"}],
        "nextCursor": "page-2",
    }))
    .unwrap();
    assert_eq!(ids(&models), ["plain"]);
    assert_eq!(models[0].display_name, "plain");
    assert!(models[0].supported_efforts.is_empty() && !models[0].is_default);
    assert_eq!(next.as_deref(), Some("page-2"));
    assert!(matches!(
        collect_pages(vec![Vec::new(), Vec::new()]),
        Err(DiscoverError::Empty)
    ));
}

/// A stand-in for `codex`: `sh -c script` (the appended `app-server` becomes `$0`).
fn fake_codex(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd
}

async fn run_fake(script: &str) -> Result<Vec<CodexModel>, DiscoverError> {
    list_models(fake_codex(script), Duration::from_secs(20)).await
}

#[tokio::test]
async fn the_captured_exchange_replays_through_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    std::fs::write(&file, CAPTURED).unwrap();
    let script = format!(
        "read init; head -n 2 '{f}'; read initialized; read list; tail -n 1 '{f}'; cat >/dev/null",
        f = file.display()
    );
    let models = run_fake(&script).await.unwrap();
    assert_eq!(models.len(), 9);
    assert_eq!(models[0].id, "gpt-6.1-sol");
}

#[tokio::test]
async fn pages_are_followed_by_cursor_and_server_requests_refused() {
    let script = r#"
read init
case "$init" in *'"method":"initialize"'*) ;; *) echo "bad init: $init" >&2; exit 3;; esac
echo '{"id":1,"result":{}}'
read initialized
read list1
echo '{"id":0,"method":"item/tool/requestUserInput","params":{}}'
read refusal
case "$refusal" in *'"id":0'*'-32601'*) ;; *) echo "no refusal: $refusal" >&2; exit 3;; esac
echo 'not json at all'
echo '{"method":"some/notification","params":{}}'
echo '{"id":2,"result":{"data":[{"id":"a"},{"id":"b"}],"nextCursor":"c2"}}'
read list2
case "$list2" in *'"cursor":"c2"'*) ;; *) echo "no cursor: $list2" >&2; exit 3;; esac
echo '{"id":3,"result":{"data":[{"id":"b"},{"id":"c","isDefault":true}],"nextCursor":null}}'
cat >/dev/null
"#;
    let models = run_fake(script).await.unwrap();
    assert_eq!(ids(&models), ["a", "b", "c"]);
    assert!(models[2].is_default);
}

#[tokio::test]
async fn partial_refused_empty_and_silent_answers_are_errors() {
    let partial = r#"read i; echo '{"id":1,"result":{}}'; read x; read y; printf '{"id":2,"result":{"data":[{"id":"a"'; echo boom >&2"#;
    match run_fake(partial).await {
        Err(DiscoverError::Ended { method, stderr }) => {
            assert_eq!(method, "model/list");
            assert!(stderr.contains("boom"), "{stderr}");
        }
        other => panic!("{other:?}"),
    }
    let refused = r#"read i; echo '{"id":1,"result":{}}'; read x; read y; echo '{"id":2,"error":{"code":-32600,"message":"not signed in"}}'; cat >/dev/null"#;
    match run_fake(refused).await {
        Err(DiscoverError::Refused { method, message }) => {
            assert_eq!((method, message.as_str()), ("model/list", "not signed in"));
        }
        other => panic!("{other:?}"),
    }
    let empty = r#"read i; echo '{"id":1,"result":{}}'; read x; read y; echo '{"id":2,"result":{"data":[]}}'; cat >/dev/null"#;
    assert!(matches!(run_fake(empty).await, Err(DiscoverError::Empty)));
    let garbage = r#"read i; echo '{"id":1,"result":{}}'; read x; read y; echo '{"id":2,"result":[1,2]}'; cat >/dev/null"#;
    assert!(matches!(
        run_fake(garbage).await,
        Err(DiscoverError::Garbage(_))
    ));
    let exits = "read i; exit 0";
    assert!(matches!(
        run_fake(exits).await,
        Err(DiscoverError::Ended {
            method: "initialize",
            ..
        })
    ));
    let missing = Command::new("/nonexistent/codex");
    assert!(matches!(
        list_models(missing, Duration::from_secs(5)).await,
        Err(DiscoverError::Spawn(_))
    ));
}

#[tokio::test]
async fn a_silent_codex_is_killed_with_its_group_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    // A grandchild in the same group that would outlive a plain kill of the leader.
    let script = format!("sleep 300 & echo $! > '{}'; wait", pidfile.display());
    let got = list_models(fake_codex(&script), Duration::from_millis(500)).await;
    assert!(matches!(got, Err(DiscoverError::Timeout(_))), "{got:?}");
    assert_gone(&pidfile, "the grandchild survived the timeout").await;
}

#[tokio::test]
async fn a_discovery_dropped_mid_way_takes_its_group_along() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = format!("sleep 300 & echo $! > '{}'; wait", pidfile.display());
    // The agent stops while codex has not answered: the discovery future is dropped.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(500),
        list_models(fake_codex(&script), Duration::from_mins(1)),
    )
    .await;
    assert!(cancelled.is_err(), "{cancelled:?}");
    assert_gone(&pidfile, "the grandchild survived the dropped discovery").await;
}

/// Waits (10 s at most) until the process whose pid `pidfile` holds is gone:
/// killed (the signal takes effect asynchronously) and, as the group's orphan,
/// reaped by init; a zombie counts as gone. Panics with `why` otherwise.
async fn assert_gone(pidfile: &std::path::Path, why: &str) {
    let pid: i32 = std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for _ in 0..100 {
        if !crate::procs::alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{why}: pid {pid}");
}

/// A discoverer that answers from a queue and counts its calls.
#[derive(Clone, Default)]
struct FakeCodex {
    answers: Arc<Mutex<VecDeque<Option<Vec<CodexModel>>>>>,
    calls: Arc<AtomicUsize>,
}

impl FakeCodex {
    /// Queues one answer: models, or `None` for a failure.
    fn then(&self, answer: Option<&[&str]>) {
        let models = answer.map(|ids| ids.iter().map(|id| model(id)).collect());
        self.answers.lock().unwrap().push_back(models);
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn discover(&self) -> Discover {
        let me = self.clone();
        Arc::new(move || {
            me.calls.fetch_add(1, Ordering::SeqCst);
            let answer = me.answers.lock().unwrap().pop_front();
            Box::pin(async move {
                match answer {
                    Some(Some(models)) => Ok(models),
                    Some(None) => Err(DiscoverError::Timeout(DISCOVERY_TIMEOUT)),
                    None => panic!("codex asked more often than expected"),
                }
            })
        })
    }
}

fn model(id: &str) -> CodexModel {
    CodexModel {
        id: id.to_owned(),
        display_name: id.to_uppercase(),
        description: String::new(),
        supported_efforts: vec!["low".into()],
        default_effort: None,
        is_default: false,
    }
}

fn codex_ids(cat: &ModelCatalogue) -> Vec<String> {
    cat.models(crate::provider::ProviderKind::Codex)
}

/// Lets the observer run (paused time moves on only by these milliseconds).
async fn settle() {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn start() -> DateTime<Utc> {
    "2026-12-01T10:00:00Z".parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn refresh_policy_fresh_cache_hourly_and_empty_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("codex_models.json");
    let cat = Arc::new(ModelCatalogue::default());
    let codex = FakeCodex::default();
    codex.then(Some(&["m-1", "m-2"]));
    let stop = CancellationToken::new();
    let clock = crate::core::testing::tokio_clock(start());
    let task = tokio::spawn(run(
        Arc::clone(&cat),
        cache.clone(),
        codex.discover(),
        clock,
        stop.clone(),
    ));

    // At the start codex is asked; the list and the cache follow.
    settle().await;
    assert_eq!(codex.calls(), 1);
    assert_eq!(codex_ids(&cat), ["m-1", "m-2"]);
    let written = super::super::models::read_codex_cache(&cache)
        .unwrap()
        .unwrap();
    assert_eq!(ids(&written.models), ["m-1", "m-2"]);
    assert_eq!(
        written.last_updated.parse::<DateTime<Utc>>().unwrap(),
        start()
    );
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Hourly refreshes take the cache while it is younger than a day.
    tokio::time::sleep(Duration::from_hours(23) + Duration::from_mins(30)).await;
    assert_eq!(codex.calls(), 1);
    assert_eq!(codex_ids(&cat), ["m-1", "m-2"]);

    // At 24 h codex is asked again; an empty answer changes nothing.
    codex.then(Some(&[]));
    tokio::time::sleep(Duration::from_hours(1)).await;
    settle().await;
    assert_eq!(codex.calls(), 2);
    assert_eq!(codex_ids(&cat), ["m-1", "m-2"]);
    let kept = std::fs::read_to_string(&cache).unwrap();
    assert_eq!(
        serde_json::from_str::<CodexModelCache>(&kept).unwrap(),
        written
    );

    // The stale cache makes every hour ask; a failure changes nothing either.
    codex.then(None);
    tokio::time::sleep(Duration::from_hours(1)).await;
    settle().await;
    assert_eq!(codex.calls(), 3);
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), kept);
    assert_eq!(codex_ids(&cat), ["m-1", "m-2"]);

    // A new list replaces both.
    codex.then(Some(&["m-3"]));
    tokio::time::sleep(Duration::from_hours(1)).await;
    settle().await;
    assert_eq!(codex.calls(), 4);
    assert_eq!(codex_ids(&cat), ["m-3"]);
    let now = super::super::models::read_codex_cache(&cache)
        .unwrap()
        .unwrap();
    assert_eq!(ids(&now.models), ["m-3"]);
    let age = now.last_updated.parse::<DateTime<Utc>>().unwrap() - start();
    assert!(age >= chrono::Duration::hours(26), "{age}");

    // And is fresh for the next day.
    tokio::time::sleep(Duration::from_hours(5)).await;
    assert_eq!(codex.calls(), 4);
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_start_asks_codex_and_falls_back_to_the_cache_or_the_list_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("codex_models.json");
    let clock = crate::core::testing::tokio_clock(start());

    // No cache, codex fails: the catalogue keeps its list, nothing is written.
    let cat = ModelCatalogue::default();
    let before = codex_ids(&cat);
    let codex = FakeCodex::default();
    codex.then(None);
    let r = refresh(&cat, &cache, &codex.discover(), &clock, true).await;
    assert!(
        matches!(r, Refreshed::Kept(DiscoverError::Timeout(_))),
        "{r:?}"
    );
    assert_eq!(codex_ids(&cat), before);
    assert!(!cache.exists(), "the fallback list is never persisted");

    // A fresh cache does not stop the forced start from asking; when codex then
    // fails, the cache is taken.
    let cached = CodexModelCache::new(vec![model("cached")], start());
    super::super::models::write_codex_cache(&cache, &cached).unwrap();
    codex.then(None);
    let r = refresh(&cat, &cache, &codex.discover(), &clock, true).await;
    assert!(matches!(r, Refreshed::Kept(_)), "{r:?}");
    assert_eq!(codex.calls(), 2);
    assert_eq!(codex_ids(&cat), ["cached"]);

    // Unforced with a fresh cache: codex is not asked.
    let r = refresh(&cat, &cache, &codex.discover(), &clock, false).await;
    assert!(matches!(r, Refreshed::FromCache(1)), "{r:?}");
    assert_eq!(codex.calls(), 2);

    // A cache from the future or with a broken date counts as stale.
    for stamp in ["2027-06-01T00:00:00Z", "yesterday"] {
        let odd = CodexModelCache {
            last_updated: stamp.into(),
            models: vec![model("cached")],
        };
        super::super::models::write_codex_cache(&cache, &odd).unwrap();
        codex.then(Some(&["new"]));
        let r = refresh(&cat, &cache, &codex.discover(), &clock, false).await;
        assert!(matches!(r, Refreshed::Discovered(1)), "{stamp}: {r:?}");
    }
    assert_eq!(codex.calls(), 4);
    assert_eq!(codex_ids(&cat), ["new"]);
}
