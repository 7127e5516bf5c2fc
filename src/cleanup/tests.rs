use super::*;
use crate::config::AgentConfig;
use crate::core::testing::tokio_clock;
use crate::paths::Home;
use std::fs::{self, File};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn write_aged(path: &Path, days: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, "data").unwrap();
    let t = SystemTime::now() - DAY * days;
    File::open(path).unwrap().set_modified(t).unwrap();
}

#[test]
fn each_folder_keeps_files_for_its_own_days() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Home::new(dir.path()).main();
    let tg = paths.telegram_files_dir();
    write_aged(&tg.join("2025-01-01/old.jpg"), 40);
    write_aged(&tg.join("2025-03-01/new.jpg"), 5);
    index::rebuild(&tg, Utc::now()).unwrap();
    write_aged(&paths.matrix_files_dir().join("2025-01-01/old.png"), 40);
    write_aged(&paths.api_files_dir().join("2025-01-01/upload.bin"), 12);
    write_aged(&paths.output_to_user_dir().join("report.pdf"), 12);
    write_aged(&paths.tasks_dir().join("0badcafe/TASKMEMORY.md"), 400);
    write_aged(&paths.cron_tasks_dir().join("news/news_MEMORY.md"), 400);
    let config = CleanupConfig {
        api_files_days: 10,
        output_to_user_days: 0,
        ..CleanupConfig::default()
    };
    let swept = run_once(&paths, &config, SystemTime::now());
    assert_eq!(swept.files, 3, "{swept:?}");
    assert!(!tg.join("2025-01-01").exists());
    assert!(tg.join("2025-03-01/new.jpg").is_file());
    assert!(!paths.matrix_files_dir().join("2025-01-01").exists());
    assert!(!paths.api_files_dir().join("2025-01-01").exists());
    assert!(
        paths.output_to_user_dir().join("report.pdf").is_file(),
        "0 days: kept"
    );
    assert!(paths.tasks_dir().join("0badcafe/TASKMEMORY.md").is_file());
    assert!(paths.cron_tasks_dir().join("news/news_MEMORY.md").is_file());
    // The index no longer lists the deleted file.
    let text = fs::read_to_string(tg.join(index::INDEX_FILE)).unwrap();
    assert!(
        text.contains("new.jpg") && !text.contains("old.jpg"),
        "{text}"
    );
    assert!(text.contains("total_files: 1"), "{text}");
}

#[test]
fn nothing_outside_the_folders_goes_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Home::new(dir.path().join("home")).main();
    let outside = dir.path().join("outside");
    write_aged(&outside.join("keep.txt"), 400);
    write_aged(&outside.join("nested/keep.txt"), 400);
    let tg = paths.telegram_files_dir();
    write_aged(&tg.join("2025-01-01/old.jpg"), 40);
    std::os::unix::fs::symlink(&outside, tg.join("2025-01-01/elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.join("keep.txt"), tg.join("keep-link.txt")).unwrap();
    fs::create_dir_all(paths.workspace()).unwrap();
    std::os::unix::fs::symlink(&outside, paths.output_to_user_dir()).unwrap();
    let swept = run_once(&paths, &CleanupConfig::default(), SystemTime::now());
    assert_eq!(swept.files, 1, "{swept:?}");
    assert!(outside.join("keep.txt").is_file());
    assert!(outside.join("nested/keep.txt").is_file());
    assert!(tg.join("2025-01-01/elsewhere").symlink_metadata().is_ok());
}

/// A config change made while the schedule runs.
type Edit = Box<dyn FnOnce(&mut AgentConfig)>;

/// The local times (in `zone`) at which the schedule ran during `span`, starting at `start`.
async fn runs(
    start: &str,
    zone: &str,
    span: Duration,
    change: impl FnOnce(&mut AgentConfig),
    later: Option<(Duration, Edit)>,
) -> Vec<String> {
    let mut config = AgentConfig {
        user_timezone: zone.to_owned(),
        ..AgentConfig::default()
    };
    change(&mut config);
    let live = LiveConfig::new(config);
    let clock = tokio_clock(start.parse().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (log, now, tz) = (
        seen.clone(),
        clock.clone(),
        zone.parse::<chrono_tz::Tz>().unwrap(),
    );
    let task = tokio::spawn(schedule(live.clone(), clock, shutdown.clone(), move |_| {
        let at = now().with_timezone(&tz).format("%m-%d %H:%M").to_string();
        log.lock().unwrap().push(at);
        std::future::ready(())
    }));
    let mut left = span;
    if let Some((after, edit)) = later {
        tokio::time::sleep(after).await;
        let mut c = (*live.get()).clone();
        edit(&mut c);
        live.set(c);
        left -= after;
    }
    tokio::time::sleep(left).await;
    shutdown.cancel();
    task.await.unwrap();
    Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
}

#[tokio::test(start_paused = true)]
async fn runs_once_a_day_in_the_check_hour() {
    let three_days = Duration::from_hours(72);
    let got = runs("2025-05-01T01:30:00Z", "UTC", three_days, |_| {}, None).await;
    assert_eq!(got, ["05-01 03:00", "05-02 03:00", "05-03 03:00"]);
    // Started inside the check hour: runs at once, not again that day.
    let got = runs(
        "2025-05-01T03:40:00Z",
        "UTC",
        Duration::from_hours(20),
        |_| {},
        None,
    )
    .await;
    assert_eq!(got, ["05-01 03:40"]);
    // The hour is the user's: Berlin (UTC+2 in May) and a half-hour zone.
    let got = runs(
        "2025-05-01T00:00:00Z",
        "Europe/Berlin",
        DAY,
        |c| c.cleanup.check_hour = 5,
        None,
    )
    .await;
    assert_eq!(got, ["05-01 05:00"]);
    let got = runs("2025-05-01T00:00:00Z", "Asia/Kolkata", DAY, |_| {}, None).await;
    assert_eq!(got, ["05-02 03:00"]);
    // The night the clocks go back, 02:00-03:00 comes twice in Berlin: one run.
    let two = |c: &mut AgentConfig| c.cleanup.check_hour = 2;
    let got = runs("2025-10-25T22:00:00Z", "Europe/Berlin", DAY, two, None).await;
    assert_eq!(got, ["10-26 02:00"]);
}

#[tokio::test(start_paused = true)]
async fn disabled_or_a_bad_hour_never_runs_and_the_config_is_read_live() {
    let two_days = Duration::from_hours(48);
    let off = |c: &mut AgentConfig| c.cleanup.enabled = false;
    assert!(
        runs("2025-05-01T00:00:00Z", "UTC", two_days, off, None)
            .await
            .is_empty()
    );
    let bad = |c: &mut AgentConfig| c.cleanup.check_hour = 24;
    assert!(
        runs("2025-05-01T00:00:00Z", "UTC", two_days, bad, None)
            .await
            .is_empty()
    );
    // Switched on during the first day (after its check hour): runs from the next day.
    let on: Edit = Box::new(|c| c.cleanup.enabled = true);
    let got = runs(
        "2025-05-01T00:00:00Z",
        "UTC",
        two_days,
        off,
        Some((Duration::from_hours(10), on)),
    )
    .await;
    assert_eq!(got, ["05-02 03:00"]);
}

#[tokio::test(start_paused = true)]
async fn the_service_sweeps_at_the_check_hour_and_stops_with_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Home::new(dir.path()).main();
    let old = paths.output_to_user_dir().join("old.txt");
    write_aged(&old, 31);
    let live = LiveConfig::new(AgentConfig {
        user_timezone: "UTC".into(),
        ..AgentConfig::default()
    });
    let shutdown = CancellationToken::new();
    let clock = tokio_clock("2025-05-01T02:30:00Z".parse().unwrap());
    let task = spawn_with_clock(paths, live, shutdown.clone(), clock);
    tokio::time::sleep(Duration::from_mins(20)).await;
    assert!(old.is_file(), "not yet: 02:50");
    tokio::time::sleep(Duration::from_mins(20)).await;
    // The sweep runs on a blocking thread: give it real time.
    for _ in 0..500 {
        if !old.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!old.exists(), "swept after 03:00");
    shutdown.cancel();
    task.await.unwrap();
}
