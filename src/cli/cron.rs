//! `ductor cron add|edit|list|remove|time`: an agent's scheduled jobs
//! (`cron_jobs.json`). Every change is a read-modify-write under the file's lock
//! (the running agent books its runs under the same lock and picks up the change
//! through its file watcher). Output is JSON, for the agent that runs the command.
//! `add` stamps the job with the chat it was created in (`DUCTOR_TRANSPORT`,
//! `DUCTOR_CHAT_ID`, `DUCTOR_TOPIC_ID`) and creates its task folder.

use super::caller::home_of;
use crate::cron::folder;
use crate::cron::schedule::{Schedule, resolve_zone};
use crate::cron::store::{self, CronFile};
use crate::paths::AgentPaths;
use crate::state::Lenient;
use crate::state::cron_jobs::CronJobRecord;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use std::path::Path;

/// Options of a job shared by `add` and `edit`.
#[derive(Debug, Clone, Default, Args)]
pub struct JobOptions {
    /// Title shown in the chat.
    #[arg(long)]
    pub title: Option<String>,
    /// What the job does (the task description of a new job).
    #[arg(long)]
    pub description: Option<String>,
    /// 5-field cron schedule, e.g. "0 9 * * 1-5".
    #[arg(long)]
    pub schedule: Option<String>,
    /// IANA time zone of the schedule (default: `user_timezone`).
    #[arg(long)]
    pub timezone: Option<String>,
    /// claude, codex or gemini.
    #[arg(long)]
    pub provider: Option<String>,
    /// Model.
    #[arg(long)]
    pub model: Option<String>,
    /// Reasoning effort.
    #[arg(long = "reasoning-effort")]
    pub reasoning_effort: Option<String>,
    /// Extra CLI arguments as a JSON list.
    #[arg(long = "cli-parameters")]
    pub cli_parameters: Option<String>,
    /// Quiet hours start (0-23, in `user_timezone`).
    #[arg(long = "quiet-start", value_parser = clap::value_parser!(u32).range(0..24))]
    pub quiet_start: Option<u32>,
    /// Quiet hours end (0-23).
    #[arg(long = "quiet-end", value_parser = clap::value_parser!(u32).range(0..24))]
    pub quiet_end: Option<u32>,
    /// Jobs with the same dependency name run one after another.
    #[arg(long)]
    pub dependency: Option<String>,
    /// Post nothing when a run succeeds.
    #[arg(long = "silent-on-success")]
    pub silent_on_success: bool,
    /// Run the latest missed slot once when ductor starts ("once" or "none").
    #[arg(long = "catch-up")]
    pub catch_up: Option<String>,
}

/// `ductor cron ...`.
#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Add a job and create its task folder.
    Add {
        /// Job id (a-z, 0-9, -, _).
        #[arg(long)]
        name: String,
        /// Job settings.
        #[command(flatten)]
        options: JobOptions,
    },
    /// Change a job.
    Edit {
        /// Job id.
        id: String,
        /// Job settings.
        #[command(flatten)]
        options: JobOptions,
        /// Switch it on.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Switch it off.
        #[arg(long)]
        disable: bool,
    },
    /// List the jobs with their next run.
    List,
    /// Remove a job and its task folder.
    Remove {
        /// Job id.
        id: String,
    },
    /// Start a job now on the running agent (schedule and quiet hours do not apply).
    Run {
        /// Job id.
        id: String,
    },
    /// Print the current time in zones (to work out schedules).
    Time {
        /// Comma-separated IANA zones (default: `user_timezone`).
        #[arg(long)]
        zones: Option<String>,
    },
}

/// Runs the command for agent `agent` (default: `$DUCTOR_AGENT_NAME`, else main).
pub async fn run(home_flag: Option<&Path>, agent: Option<&str>, cmd: CronCommand) -> i32 {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let home = home_of(home_flag, &var);
    let name = agent
        .map(str::to_owned)
        .or_else(|| var("DUCTOR_AGENT_NAME"))
        .unwrap_or_else(|| "main".into());
    let paths = if name == "main" {
        home.main()
    } else {
        home.agent(&name)
    };
    let result = match cmd {
        CronCommand::Run { id } => run_now(&home, &name, &id).await,
        cmd => execute(&paths, cmd, &var),
    };
    match result {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            0
        }
        Err(e) => {
            eprintln!("ductor cron: {e}");
            1
        }
    }
}

/// Asks the running agent `agent` to start job `id` now.
async fn run_now(home: &crate::paths::Home, agent: &str, id: &str) -> Result<Value, String> {
    use crate::ipc::message::{Body, CronRun, PeerRole};
    let (client, _inbox) = crate::ipc::BusClient::connect(
        &home.bus_socket(),
        PeerRole::Client,
        Some(format!("cron-tool:{agent}")),
    )
    .await
    .map_err(|e| format!("cannot reach ductor (is it running?): {e}"))?;
    let ask = Body::CronRun(CronRun { job: id.to_owned() });
    match client
        .request(Some(agent), ask, std::time::Duration::from_secs(10))
        .await
    {
        Ok(_) => Ok(json!({"ok": true, "started": id})),
        Err(crate::ipc::IpcError::Remote(_, message)) => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

/// `user_timezone` of this agent: a sub-agent's own zone from `agents.json` when it
/// sets one, else the main config's (empty when unset or unreadable).
fn user_timezone(paths: &AgentPaths) -> String {
    match crate::config::load_agent(&paths.home(), paths.name()) {
        Ok(config) => config.user_timezone,
        Err(_) => std::fs::read_to_string(paths.home().main().config_file())
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v["user_timezone"].as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// Applies `cmd` to the jobs of `paths`; returns the JSON to print.
pub fn execute(
    paths: &AgentPaths,
    cmd: CronCommand,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    let file = CronFile::new(&paths.cron_jobs_file());
    match cmd {
        CronCommand::Add { name, options } => add(paths, &file, &name, &options, var),
        CronCommand::Edit {
            id,
            options,
            enable,
            disable,
        } => {
            let mut fields = fields_of(&options)?;
            if enable || disable {
                fields.insert("enabled".into(), enable.into());
            }
            if !file.set_fields(&id, fields)? {
                return Err(format!("there is no job `{id}`"));
            }
            Ok(json!({"ok": true, "id": id}))
        }
        CronCommand::List => list(paths, &file),
        CronCommand::Remove { id } => {
            let removed = file.modify(|f| {
                let folder = f
                    .records()
                    .find(|r| r.id == id)
                    .map(|r| store::Job::from_record(r).task_folder);
                f.items
                    .retain(|r| !matches!(r, Lenient::Ok(rec) if rec.id == id));
                Ok(folder)
            })?;
            let Some(task_folder) = removed else {
                return Err(format!("there is no job `{id}`"));
            };
            // The job's own folder (a plain name under cron_tasks/, never a path).
            if folder::valid_name(&task_folder) {
                let _ = std::fs::remove_dir_all(paths.cron_tasks_dir().join(&task_folder));
            }
            Ok(json!({"ok": true, "removed": id}))
        }
        CronCommand::Run { .. } => Err("`run` needs the running agent".into()),
        CronCommand::Time { zones } => {
            let now = chrono::Utc::now();
            let names: Vec<String> = zones.map_or_else(
                || vec![user_timezone(paths)],
                |z| z.split(',').map(|s| s.trim().to_owned()).collect(),
            );
            let out: Vec<Value> = names
                .iter()
                .map(|n| {
                    let zone = resolve_zone(Some(n), "");
                    json!({"zone": zone.tz.to_string(), "time": now.with_timezone(&zone.tz).to_rfc3339(),
                           "invalid": zone.invalid})
                })
                .collect();
            Ok(json!({"utc": now.to_rfc3339(), "zones": out}))
        }
    }
}

/// The record fields `options` set (validated).
fn fields_of(o: &JobOptions) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    if let Some(s) = &o.schedule {
        Schedule::parse(s)?;
        m.insert("schedule".into(), s.trim().into());
    }
    if let Some(z) = &o.timezone {
        if z.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "`{z}` is not an IANA time zone (e.g. Europe/Berlin)"
            ));
        }
        m.insert("timezone".into(), z.clone().into());
    }
    if let Some(p) = &o.provider {
        p.parse::<crate::provider::ProviderKind>()
            .map_err(|_| format!("unknown provider `{p}` (use claude, codex or gemini)"))?;
        m.insert("provider".into(), p.clone().into());
    }
    if let Some(params) = &o.cli_parameters {
        let list: Vec<String> = serde_json::from_str(params)
            .map_err(|e| format!("--cli-parameters must be a JSON list of strings: {e}"))?;
        m.insert("cli_parameters".into(), json!(list));
    }
    if let Some(c) = &o.catch_up {
        if c != "once" && c != "none" {
            return Err("--catch-up is `once` or `none`".into());
        }
        m.insert("catch_up".into(), c.clone().into());
    }
    for (key, value) in [
        ("title", &o.title),
        ("description", &o.description),
        ("model", &o.model),
        ("reasoning_effort", &o.reasoning_effort),
        ("dependency", &o.dependency),
    ] {
        if let Some(v) = value {
            m.insert(key.into(), v.clone().into());
        }
    }
    if let Some(h) = o.quiet_start {
        m.insert("quiet_start".into(), h.into());
    }
    if let Some(h) = o.quiet_end {
        m.insert("quiet_end".into(), h.into());
    }
    if o.silent_on_success {
        m.insert("silent_on_success".into(), true.into());
    }
    Ok(m)
}

fn add(
    paths: &AgentPaths,
    file: &CronFile,
    name: &str,
    o: &JobOptions,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    if !folder::valid_name(name) {
        return Err(format!(
            "`{name}` is not a job name: 1-64 of a-z, 0-9, - and _"
        ));
    }
    let Some(sched) = &o.schedule else {
        return Err("--schedule is required".into());
    };
    let mut fields = fields_of(o)?;
    fields.remove("schedule");
    let title = o.title.clone().unwrap_or_else(|| name.to_owned());
    let description = o.description.clone().unwrap_or_default();
    fields.insert("title".into(), title.clone().into());
    fields.insert("task_folder".into(), name.into());
    fields.insert(
        "agent_instruction".into(),
        "Read through TASK_DESCRIPTION.md and carry it out.".into(),
    );
    fields.insert(
        "created_at".into(),
        crate::session::freshness::format_time(chrono::Utc::now()).into(),
    );
    if let Some(chat) = var("DUCTOR_CHAT_ID").and_then(|c| crate::address::parse_chat_id(&c)) {
        fields.insert("chat_id".into(), chat.into());
        fields.insert(
            "topic_id".into(),
            var("DUCTOR_TOPIC_ID")
                .and_then(|t| t.parse::<i64>().ok())
                .map_or(Value::Null, Value::from),
        );
        fields.insert(
            "transport".into(),
            var("DUCTOR_TRANSPORT")
                .unwrap_or_else(|| "tg".into())
                .into(),
        );
    }
    let rec = CronJobRecord {
        id: name.to_owned(),
        schedule: sched.trim().to_owned(),
        enabled: true,
        fields,
    };
    file.modify(|f| {
        if f.records().any(|r| r.id == name) {
            return Err(format!(
                "a job `{name}` exists already (use `ductor cron edit`)"
            ));
        }
        f.items.push(Lenient::Ok(rec));
        Ok(())
    })?;
    let dir = folder::create(&paths.cron_tasks_dir(), name, &title, &description)
        .map_err(|e| format!("the job was added, but its folder could not be created: {e}"))?;
    Ok(json!({"ok": true, "id": name, "task_folder": dir}))
}

fn list(paths: &AgentPaths, file: &CronFile) -> Result<Value, String> {
    let tz = user_timezone(paths);
    let now = chrono::Utc::now();
    let jobs: Vec<Value> = store::jobs(&file.read()?)
        .into_iter()
        .map(|j| {
            let info = crate::cron::JobInfo::of(j, &tz, now);
            let j = &info.job;
            json!({"id": j.id, "title": j.title, "schedule": j.schedule, "enabled": j.enabled,
                   "timezone": info.zone, "next_run": info.next_run.map(|t| t.to_rfc3339()),
                   "last_run_at": j.last_run_at, "last_run_status": j.last_run_status,
                   "last_delivery_status": j.last_delivery_status, "problem": info.problem})
        })
        .collect();
    Ok(json!({ "jobs": jobs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> (tempfile::TempDir, AgentPaths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Home::new(dir.path()).main();
        std::fs::create_dir_all(paths.cron_tasks_dir()).unwrap();
        (dir, paths)
    }

    fn env(k: &str) -> Option<String> {
        match k {
            "DUCTOR_CHAT_ID" => Some("42".into()),
            "DUCTOR_TOPIC_ID" => Some("7".into()),
            "DUCTOR_TRANSPORT" => Some("mx".into()),
            _ => None,
        }
    }

    #[test]
    fn add_list_edit_remove() {
        let (_d, p) = paths();
        let opts = JobOptions {
            schedule: Some("0 9 * * *".into()),
            title: Some("News".into()),
            timezone: Some("Europe/Berlin".into()),
            ..JobOptions::default()
        };
        let add = CronCommand::Add {
            name: "news".into(),
            options: opts.clone(),
        };
        execute(&p, add, &env).unwrap();
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(p.cron_jobs_file()).unwrap()).unwrap();
        let job = &v["jobs"][0];
        assert_eq!(job["chat_id"], 42);
        assert_eq!(job["topic_id"], 7);
        assert_eq!(job["transport"], "mx");
        assert!(
            p.cron_tasks_dir()
                .join("news/TASK_DESCRIPTION.md")
                .is_file()
        );
        let again = CronCommand::Add {
            name: "news".into(),
            options: opts,
        };
        assert!(execute(&p, again, &env).unwrap_err().contains("exists"));
        let listed = execute(&p, CronCommand::List, &env).unwrap();
        assert_eq!(listed["jobs"][0]["timezone"], "Europe/Berlin");
        assert!(
            listed["jobs"][0]["next_run"]
                .as_str()
                .unwrap()
                .ends_with("+01:00")
        );
        let edit = CronCommand::Edit {
            id: "news".into(),
            options: JobOptions {
                schedule: Some("0 25 * * *".into()),
                ..JobOptions::default()
            },
            enable: false,
            disable: false,
        };
        assert!(execute(&p, edit, &env).unwrap_err().contains("0 25 * * *"));
        let off = CronCommand::Edit {
            id: "news".into(),
            options: JobOptions::default(),
            enable: false,
            disable: true,
        };
        execute(&p, off, &env).unwrap();
        let listed = execute(&p, CronCommand::List, &env).unwrap();
        assert_eq!(listed["jobs"][0]["enabled"], false);
        assert!(listed["jobs"][0]["next_run"].is_null());
        execute(&p, CronCommand::Remove { id: "news".into() }, &env).unwrap();
        assert!(!p.cron_tasks_dir().join("news").exists());
        assert!(execute(&p, CronCommand::Remove { id: "news".into() }, &env).is_err());
    }

    #[test]
    fn a_sub_agents_list_uses_its_own_time_zone() {
        let dir = tempfile::tempdir().unwrap();
        let home = crate::paths::Home::new(dir.path());
        std::fs::create_dir_all(home.main().config_file().parent().unwrap()).unwrap();
        std::fs::write(
            home.main().config_file(),
            r#"{"user_timezone": "Europe/Berlin"}"#,
        )
        .unwrap();
        std::fs::write(
            home.agents_file(),
            r#"[{"name": "tokyo", "telegram_token": "123:abc", "allowed_user_ids": [1],
                 "user_timezone": "Asia/Tokyo"}]"#,
        )
        .unwrap();
        for (name, zone) in [("main", "Europe/Berlin"), ("tokyo", "Asia/Tokyo")] {
            let p = home.agent(name);
            std::fs::create_dir_all(p.cron_tasks_dir()).unwrap();
            let add = CronCommand::Add {
                name: "daily".into(),
                options: JobOptions {
                    schedule: Some("0 9 * * *".into()),
                    ..JobOptions::default()
                },
            };
            execute(&p, add, &env).unwrap();
            let listed = execute(&p, CronCommand::List, &env).unwrap();
            assert_eq!(listed["jobs"][0]["timezone"], zone, "{name}");
        }
    }

    #[test]
    fn bad_names_and_zones_are_refused() {
        let (_d, p) = paths();
        let bad = CronCommand::Add {
            name: "../x".into(),
            options: JobOptions {
                schedule: Some("* * * * *".into()),
                ..JobOptions::default()
            },
        };
        assert!(execute(&p, bad, &env).is_err());
        let zone = CronCommand::Add {
            name: "x".into(),
            options: JobOptions {
                schedule: Some("* * * * *".into()),
                timezone: Some("Mars/Base".into()),
                ..JobOptions::default()
            },
        };
        assert!(execute(&p, zone, &env).unwrap_err().contains("Mars/Base"));
        assert!(!p.cron_jobs_file().exists());
    }
}
