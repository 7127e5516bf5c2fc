use super::*;
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::symlink;

/// A temp world: a workspace, a user home with `.claude` and a `CODEX_HOME`; no
/// gemini home.
struct World {
    dir: tempfile::TempDir,
    locations: Locations,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("home/.claude")).unwrap();
        fs::create_dir_all(root.join("codex")).unwrap();
        let env: HashMap<String, String> = [(
            "CODEX_HOME".to_owned(),
            root.join("codex").display().to_string(),
        )]
        .into();
        let locations = Locations::resolve(root.join("ws/skills"), &env, &root.join("home"));
        Self { dir, locations }
    }

    fn sync(&self) -> SkillSync {
        SkillSync::new(
            self.locations.clone(),
            self.dir.path().join("skill_links.json"),
        )
    }

    fn ws(&self) -> PathBuf {
        self.locations.workspace.clone()
    }

    fn claude(&self) -> PathBuf {
        self.dir.path().join("home/.claude/skills")
    }

    fn codex(&self) -> PathBuf {
        self.dir.path().join("codex/skills")
    }

    fn gemini(&self) -> PathBuf {
        self.dir.path().join("home/.gemini/skills")
    }
}

/// Makes a valid skill `dir/name`.
fn make_skill(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(&path).unwrap();
    let text = format!("---\nname: {name}\ndescription: {body}\n---\n{body}\n");
    fs::write(path.join(skill::SKILL_FILE), text).unwrap();
    path
}

fn all_on() -> Value {
    json!({"sync_enabled": true, "sync": {"claude": true, "codex": true, "gemini": true}})
}

fn link_of(path: &Path) -> Option<PathBuf> {
    fs::read_link(path).ok()
}

fn canon(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap()
}

#[test]
fn a_claude_skill_shows_up_in_the_workspace_and_for_codex_after_one_pass() {
    let w = World::new();
    let mut sync = w.sync();
    sync.pass(&all_on()); // creates the folders
    let pdf = make_skill(&w.claude(), "pdf", "PDF work");
    let changes = sync.pass(&all_on());
    assert_eq!(changes.created.len(), 2, "{changes:?}");
    assert_eq!(link_of(&w.ws().join("pdf")), Some(canon(&pdf)));
    assert_eq!(link_of(&w.codex().join("pdf")), Some(canon(&pdf)));
    assert!(
        skill::is_skill(&w.ws().join("pdf")),
        "usable through the link"
    );
    assert!(!w.gemini().exists(), "no gemini home: not taking part");
    // Recorded, and stable: a second pass changes nothing.
    assert_eq!(sync.record().links.len(), 2);
    assert!(sync.pass(&all_on()).is_empty());
    let saved: Record =
        serde_json::from_slice(&fs::read(w.dir.path().join("skill_links.json")).unwrap()).unwrap();
    assert_eq!(&saved, sync.record());
}

#[test]
fn real_folders_win_and_are_never_touched() {
    let w = World::new();
    let mut sync = w.sync();
    let mine = make_skill(&w.ws(), "notes", "workspace version");
    let theirs = make_skill(&w.claude(), "notes", "claude version");
    // Invalid real folders stay as they are and are not synced.
    fs::create_dir_all(w.codex().join("draft")).unwrap();
    fs::write(w.codex().join("draft/SKILL.md"), "no front matter").unwrap();
    sync.pass(&all_on());
    assert!(fs::symlink_metadata(&mine).unwrap().is_dir());
    assert!(fs::symlink_metadata(&theirs).unwrap().is_dir());
    assert!(
        fs::read_to_string(theirs.join("SKILL.md"))
            .unwrap()
            .contains("claude version")
    );
    assert_eq!(
        link_of(&w.codex().join("notes")),
        Some(canon(&mine)),
        "workspace first"
    );
    assert!(!w.ws().join("draft").exists() && !w.claude().join("draft").exists());
    // A real folder made later in the workspace becomes the one linked to.
    let pdf = make_skill(&w.claude(), "pdf", "claude pdf");
    sync.pass(&all_on());
    assert_eq!(link_of(&w.codex().join("pdf")), Some(canon(&pdf)));
    fs::remove_file(w.ws().join("pdf")).unwrap();
    let ws_pdf = make_skill(&w.ws(), "pdf", "workspace pdf");
    sync.pass(&all_on());
    assert_eq!(
        link_of(&w.codex().join("pdf")),
        Some(canon(&ws_pdf)),
        "re-pointed"
    );
    assert!(fs::symlink_metadata(&pdf).unwrap().is_dir());
}

#[test]
fn foreign_links_are_left_alone_even_broken_ones() {
    let w = World::new();
    let mut sync = w.sync();
    sync.pass(&all_on());
    let elsewhere = make_skill(&w.dir.path().join("elsewhere"), "tool", "outside");
    symlink(&elsewhere, w.claude().join("tool")).unwrap();
    symlink(w.dir.path().join("gone"), w.codex().join("old")).unwrap();
    symlink(w.dir.path().join("gone"), w.ws().join("stale")).unwrap();
    sync.pass(&all_on());
    assert_eq!(
        link_of(&w.claude().join("tool")),
        Some(elsewhere.clone()),
        "untouched"
    );
    assert_eq!(
        link_of(&w.codex().join("old")),
        Some(w.dir.path().join("gone"))
    );
    assert_eq!(
        link_of(&w.ws().join("stale")),
        Some(w.dir.path().join("gone"))
    );
    // The skill behind the foreign link is shared, pointing at its real folder.
    assert_eq!(link_of(&w.ws().join("tool")), Some(canon(&elsewhere)));
    // A link of ours that the user re-points is theirs from then on.
    let other = w.dir.path().join("other-tool");
    fs::remove_file(w.ws().join("tool")).unwrap();
    symlink(&other, w.ws().join("tool")).unwrap();
    fs::remove_dir_all(&elsewhere).unwrap();
    sync.pass(&all_on());
    assert_eq!(
        link_of(&w.ws().join("tool")),
        Some(other),
        "kept though broken"
    );
    assert_eq!(link_of(&w.claude().join("tool")), Some(elsewhere));
    assert!(sync.record().links.is_empty(), "{:?}", sync.record());
}

#[test]
fn links_of_a_skill_that_went_away_are_removed() {
    let w = World::new();
    let mut sync = w.sync();
    let pdf = make_skill(&w.claude(), "pdf", "PDF");
    sync.pass(&all_on());
    assert!(link_of(&w.ws().join("pdf")).is_some());
    fs::remove_dir_all(&pdf).unwrap();
    let changes = sync.pass(&all_on());
    assert_eq!(changes.removed.len(), 2, "{changes:?}");
    assert!(fs::symlink_metadata(w.ws().join("pdf")).is_err());
    assert!(fs::symlink_metadata(w.codex().join("pdf")).is_err());
    assert!(sync.record().links.is_empty());
    // A skill that becomes invalid loses its links too.
    let calc = make_skill(&w.claude(), "calc", "Calc");
    sync.pass(&all_on());
    fs::write(calc.join("SKILL.md"), "# no front matter").unwrap();
    sync.pass(&all_on());
    assert!(fs::symlink_metadata(w.ws().join("calc")).is_err());
}

#[test]
fn toggles_are_honoured_at_each_pass() {
    let w = World::new();
    let mut sync = w.sync();
    make_skill(&w.ws(), "mine", "workspace skill");
    let no_codex = json!({"sync_enabled": true, "sync": {"codex": false}});
    sync.pass(&no_codex);
    assert!(link_of(&w.claude().join("mine")).is_some());
    assert!(
        !w.codex().exists(),
        "codex off: its folder is not even made"
    );
    sync.pass(&all_on());
    assert!(link_of(&w.codex().join("mine")).is_some());
    // Turning a CLI off takes ductor's links out of its folder.
    sync.pass(&no_codex);
    assert!(fs::symlink_metadata(w.codex().join("mine")).is_err());
    assert!(link_of(&w.claude().join("mine")).is_some());
    // The gemini folder joins once its home exists.
    fs::create_dir_all(w.dir.path().join("home/.gemini")).unwrap();
    sync.pass(&all_on());
    assert!(link_of(&w.gemini().join("mine")).is_some());
    // The master switch: nothing synced, ductor's links gone, real folders stay.
    let off = json!({"sync_enabled": false, "sync": {"claude": true}});
    sync.pass(&off);
    for dir in [w.claude(), w.codex(), w.gemini()] {
        assert!(
            fs::symlink_metadata(dir.join("mine")).is_err(),
            "{}",
            dir.display()
        );
    }
    assert!(w.ws().join("mine").is_dir());
    assert!(sync.record().links.is_empty());
    // Bad values: defaults (on), nothing breaks.
    sync.pass(&json!({"sync_enabled": "yes", "sync": [1]}));
    assert!(link_of(&w.claude().join("mine")).is_some());
}

#[test]
fn shutdown_removes_only_ductors_links_from_the_cli_folders() {
    let w = World::new();
    let mut sync = w.sync();
    make_skill(&w.ws(), "mine", "workspace skill");
    let pdf = make_skill(&w.claude(), "pdf", "PDF");
    sync.pass(&all_on());
    fs::create_dir_all(w.codex()).unwrap();
    let user_link = w.codex().join("by-hand");
    symlink(&pdf, &user_link).unwrap();
    let changes = sync.remove_cli_links();
    assert_eq!(
        changes.removed.len(),
        3,
        "mine ×2, pdf in codex: {changes:?}"
    );
    assert!(fs::symlink_metadata(w.claude().join("mine")).is_err());
    assert!(fs::symlink_metadata(w.codex().join("pdf")).is_err());
    assert!(link_of(&user_link).is_some(), "not ours");
    assert!(pdf.is_dir());
    assert_eq!(
        link_of(&w.ws().join("pdf")),
        Some(canon(&pdf)),
        "the workspace keeps its links"
    );
    // The record survives a restart: the next run still knows the workspace link.
    let mut again = w.sync();
    assert_eq!(again.record().links.len(), 1);
    fs::remove_dir_all(&pdf).unwrap();
    again.pass(&all_on());
    assert!(fs::symlink_metadata(w.ws().join("pdf")).is_err());
}

#[test]
fn a_damaged_record_is_set_aside_and_nothing_is_deleted() {
    let w = World::new();
    let mut sync = w.sync();
    make_skill(&w.ws(), "mine", "workspace skill");
    sync.pass(&all_on());
    let file = w.dir.path().join("skill_links.json");
    fs::write(&file, "{not json").unwrap();
    let mut again = w.sync();
    assert!(again.record().links.is_empty());
    again.remove_cli_links();
    assert!(
        link_of(&w.claude().join("mine")).is_some(),
        "unknown links are left alone"
    );
    let aside = fs::read_dir(w.dir.path()).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with("skill_links.json.corrupt-")
    });
    assert!(aside);
}

/// Waits (in real time, at most 5 s) until `done`, letting the runtime's tasks run.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(start_paused = true)]
async fn the_service_seeds_syncs_periodically_and_cleans_up_at_shutdown() {
    let w = World::new();
    let config = LiveConfig::new(crate::config::AgentConfig::default());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(w.sync(), config.clone(), shutdown.clone()));
    let creator = w.claude().join("skill-creator");
    // The first pass runs on a blocking thread: give it real time.
    eventually(|| link_of(&creator).is_some()).await;
    assert_eq!(
        link_of(&creator),
        Some(canon(&w.ws().join("skill-creator")))
    );
    assert!(
        w.ws().join("skill-creator").is_dir(),
        "seeded as a real folder"
    );
    // A new skill is picked up by the next pass.
    let pdf = make_skill(&w.claude(), "pdf", "PDF");
    tokio::time::sleep(INTERVAL).await;
    eventually(|| link_of(&w.codex().join("pdf")).is_some()).await;
    assert_eq!(link_of(&w.codex().join("pdf")), Some(canon(&pdf)));
    shutdown.cancel();
    task.await.unwrap();
    assert!(fs::symlink_metadata(&creator).is_err());
    assert!(fs::symlink_metadata(w.codex().join("pdf")).is_err());
    assert!(link_of(&w.ws().join("pdf")).is_some());
}

#[test]
fn locations_follow_the_environment() {
    let home = Path::new("/home/u");
    let ws = PathBuf::from("/ws/skills");
    let l = Locations::resolve(ws.clone(), &HashMap::new(), home);
    let skills: Vec<_> = l.cli.iter().map(|c| c.skills.clone()).collect();
    assert_eq!(
        skills,
        [
            PathBuf::from("/home/u/.claude/skills"),
            PathBuf::from("/home/u/.codex/skills"),
            PathBuf::from("/home/u/.gemini/skills")
        ]
    );
    let env: HashMap<String, String> = [
        ("CLAUDE_CONFIG_DIR", "/c"),
        ("CODEX_HOME", "/x"),
        ("GEMINI_CLI_HOME", "/g"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let l = Locations::resolve(ws, &env, home);
    let homes: Vec<_> = l.cli.iter().map(|c| c.home.clone()).collect();
    assert_eq!(
        homes,
        [
            PathBuf::from("/c"),
            PathBuf::from("/x"),
            PathBuf::from("/g/.gemini")
        ]
    );
}
