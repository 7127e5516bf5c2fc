//! Starting work: creating a task, resuming one (a follow-up or the answer to its
//! question) and forwarding a task's question to its chat.

use super::{
    NewTask, Resumed, Status, TaskError, TaskHub, activate, address_of, folder, prompt, registry,
    status_of,
};
use crate::config::AgentConfig;
use crate::provider::ProviderKind;
use crate::provider::models::ModelCatalogue;
use crate::session::store::{Target, default_target};
use crate::state::tasks::TaskRecord;

/// First line of `prompt`, shortened, as a default name.
pub(super) fn default_name(prompt: &str) -> String {
    let line = prompt.lines().next().unwrap_or_default().trim();
    if line.chars().count() > 40 {
        format!("{}…", folder::clip(line, 40).trim_end())
    } else {
        line.to_owned()
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Provider/model/effort of a new task: overrides, else the agent's defaults (a
/// model alone picks its provider; another provider alone gets its default model).
pub fn resolve_target(
    catalogue: &ModelCatalogue,
    config: &AgentConfig,
    provider: Option<&str>,
    model: Option<&str>,
    thinking: Option<&str>,
) -> Result<Target, TaskError> {
    let default = default_target(config);
    let model = non_empty(model);
    let provider = match non_empty(provider) {
        Some(p) => p.parse::<ProviderKind>().map_err(|_| {
            TaskError::BadRequest(format!(
                "unknown provider `{p}` (use claude, codex or gemini)"
            ))
        })?,
        None => model.map_or(default.provider, |m| {
            crate::provider::models::provider_for_model(m, catalogue)
        }),
    };
    let model = match model {
        Some(m) => m.to_owned(),
        None if provider == default.provider => default.model.clone(),
        None => catalogue.default_model(provider).unwrap_or_default(),
    };
    let effort = match non_empty(thinking) {
        Some(t) => {
            let accepted = catalogue.efforts(provider, &model);
            let Some(e) = accepted.iter().find(|e| e.eq_ignore_ascii_case(t)) else {
                return Err(TaskError::BadRequest(if accepted.is_empty() {
                    format!("{provider} has no reasoning effort setting; leave out --thinking")
                } else {
                    format!(
                        "unknown effort `{t}` for {model} (use one of: {})",
                        accepted.join(", ")
                    )
                }));
            };
            Some(e.clone())
        }
        None if provider == default.provider => default.effort,
        None => None,
    };
    Ok(Target {
        provider,
        model,
        effort,
    })
}

impl TaskHub {
    /// Creates a task and starts its run. Refused when tasks are disabled or the
    /// chat already runs `tasks.max_parallel` counted tasks (nothing is queued).
    pub fn create(&self, req: &NewTask) -> Result<TaskRecord, TaskError> {
        let parts = &self.inner.parts;
        let config = parts.config.get();
        if !config.tasks.enabled {
            return Err(TaskError::Disabled);
        }
        let text = req.prompt.trim();
        if text.is_empty() {
            return Err(TaskError::BadRequest("the task prompt is empty".into()));
        }
        // A parent this agent does not know (deleted, or another agent's) counts as
        // one level, not as none.
        let depth = req.parent.as_deref().map_or(1, |p| {
            self.registry_ref()
                .get(p)
                .map_or(2, |parent| parent.depth.max(1) + 1)
        });
        if depth > config.tasks.max_depth {
            return Err(TaskError::TooDeep {
                max: config.tasks.max_depth,
            });
        }
        let target = resolve_target(
            &parts.catalogue,
            &config,
            req.provider.as_deref(),
            req.model.as_deref(),
            req.thinking.as_deref(),
        )?;
        let origin = req
            .origin
            .clone()
            .filter(|a| a.chat_id != 0)
            .unwrap_or_else(|| parts.directory.primary_or_none_yet());
        let id = self.registry_ref().unused_id();
        let rec = TaskRecord {
            task_id: id.clone(),
            transport: origin.transport.clone(),
            chat_id: origin.chat_id,
            parent_agent: self.inner.agent.clone(),
            name: non_empty(req.name.as_deref())
                .map_or_else(|| default_name(text), |n| folder::clip(n, 60)),
            prompt_preview: folder::clip(text, 80),
            original_prompt: text.to_owned(),
            provider: target.provider.as_str().to_owned(),
            model: target.model.clone(),
            status: Status::Running.as_str().to_owned(),
            session_id: String::new(),
            created_at: registry::now(),
            completed_at: None,
            elapsed_seconds: 0.0,
            error: String::new(),
            result_preview: String::new(),
            question_count: 0,
            num_turns: 0,
            last_question: String::new(),
            thinking: non_empty(req.thinking.as_deref())
                .map(str::to_owned)
                .unwrap_or_default(),
            reasoning_effort: target.effort.clone().unwrap_or_default(),
            tasks_dir: self.inner.tasks_dir.display().to_string(),
            priority: req.priority.as_str().to_owned(),
            thread_id: origin.topic_id,
            depth,
            extra: serde_json::Map::new(),
        };
        folder::create(&self.inner.tasks_dir, &rec)
            .map_err(|e| TaskError::Internal(format!("cannot create the task folder: {e}")))?;
        let ended = {
            let mut active = self.active();
            if let Err(running) = self
                .registry_ref()
                .insert_within_limit(rec.clone(), config.tasks.max_parallel)
            {
                drop(active);
                folder::remove(&self.inner.tasks_dir, &id);
                tracing::info!(chat = %origin, running, "task refused: limit reached");
                return Err(TaskError::LimitReached {
                    max: config.tasks.max_parallel,
                });
            }
            activate(&mut active, &id, origin.clone())
        };
        let memory = folder::memory_path(&self.inner.tasks_dir, &id);
        let prompt = prompt::task_prompt(text, &id, &memory);
        tracing::info!(task = %id, name = %rec.name, provider = %rec.provider, model = %rec.model, "task created");
        self.spawn(id, prompt, ended);
        Ok(rec)
    }

    /// Continues task `id` in its CLI session with `text`. Refused while its
    /// previous run still executes, unless that run asked a question (then the
    /// follow-up is queued behind it).
    pub fn resume(&self, id: &str, text: &str) -> Result<Resumed, TaskError> {
        let config = self.inner.parts.config.get();
        if !config.tasks.enabled {
            return Err(TaskError::Disabled);
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(TaskError::BadRequest(
                "the follow-up prompt is empty".into(),
            ));
        }
        let mut active = self.active();
        if let Some(a) = active.get_mut(id) {
            if !a.asked {
                return Err(TaskError::Conflict(format!(
                    "task {id} is still running; wait for its result before resuming it"
                )));
            }
            a.follow_up = Some(match a.follow_up.take() {
                Some(earlier) => format!("{earlier}\n\n{text}"),
                None => text.to_owned(),
            });
            return Ok(Resumed::Queued);
        }
        let rec = self.record(id)?;
        if status_of(&rec) == Status::Running {
            return Err(TaskError::Conflict(format!("task {id} is still running")));
        }
        if rec.session_id.is_empty() || rec.provider.parse::<ProviderKind>().is_err() {
            return Err(TaskError::Conflict(format!(
                "task {id} has no CLI session to continue (it ended before its CLI started); create a new task instead"
            )));
        }
        match self
            .registry_ref()
            .restart_within_limit(id, config.tasks.max_parallel, |r| {
                r.error.clear();
                r.completed_at = None;
            }) {
            Ok(Some(())) => {}
            Ok(None) => return Err(TaskError::NotFound(id.to_owned())),
            Err(_) => {
                return Err(TaskError::LimitReached {
                    max: config.tasks.max_parallel,
                });
            }
        }
        let ended = activate(&mut active, id, address_of(&rec));
        drop(active);
        let memory = folder::memory_path(&self.inner.tasks_dir, id);
        let prompt = prompt::resume_prompt(text, &memory);
        tracing::info!(task = %id, "task resumed");
        self.spawn(id.to_owned(), prompt, ended);
        Ok(Resumed::Started)
    }

    /// Forwards a question of task `id` to its chat; returns at once. The task
    /// becomes `waiting` when its run ends (unless an answer already arrived).
    pub fn ask_parent(&self, id: &str, question: &str) -> Result<(), TaskError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(TaskError::BadRequest("the question is empty".into()));
        }
        let rec = {
            let mut active = self.active();
            let running = match active.get_mut(id) {
                Some(a) => {
                    a.asked = true;
                    true
                }
                None => false,
            };
            self.registry_ref().update(id, |r| {
                r.question_count += 1;
                r.last_question = folder::clip(question, 200);
                if !running && !status_of(r).is_finished() {
                    registry::set_status(r, Status::Waiting);
                }
                r.clone()
            })
        }
        .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        tracing::info!(task = %id, "task asks its parent");
        self.deliver_question(&rec, question);
        Ok(())
    }
}
