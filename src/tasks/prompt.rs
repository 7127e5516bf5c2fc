//! Texts the models read: the suffix of a task's prompt, the reminder on resume,
//! and the prompts injected into the parent chat (result, failure, question).
//! They are English on purpose: the models follow them; users see the notices.

use crate::state::tasks::TaskRecord;
use std::fmt::Write as _;
use std::path::Path;

/// The prompt of a new task: the parent's instructions plus the background rules.
pub fn task_prompt(prompt: &str, id: &str, memory: &Path) -> String {
    format!(
        "{prompt}\n\n---\n\
         [ductor background task {id}]\n\
         You are a background agent working on this task on your own: you have no access \
         to the user, and nobody answers while you work.\n\
         - If you need a decision or information you cannot get yourself, run \
         `ductor task ask-parent \"<question>\"`, then finish what you can; you will be \
         resumed with the answer. Never put questions in your final answer.\n\
         - Keep your notes, findings and progress up to date in {memory} (update it as \
         you go; it is kept even if the task is cancelled).\n\
         - Your final answer is the task result; it goes to the agent that started the task.",
        memory = memory.display()
    )
}

/// A follow-up for a resumed task, with a short reminder of the rules.
pub fn resume_prompt(prompt: &str, memory: &Path) -> String {
    format!(
        "{prompt}\n\n---\n\
         [Reminder: you are still a background task without access to the user. Ask \
         questions only with `ductor task ask-parent \"<question>\"`, and keep {} up to date.]",
        memory.display()
    )
}

fn header(kind: &str, rec: &TaskRecord, run_secs: f64) -> String {
    format!(
        "[BACKGROUND TASK {kind}: task_id={id} name={name}]\n\
         Provider/model: {provider}/{model} · Duration: {secs}s\n",
        id = rec.task_id,
        name = rec.name,
        provider = rec.provider,
        model = rec.model,
        secs = run_secs.round() as u64,
    )
}

fn memory_block(out: &mut String, memory: Option<&str>, path: &Path) {
    if let Some(m) = memory {
        let _ = write!(
            out,
            "\n---\nCONTENT FROM TASKMEMORY.MD ({}):\n\n{m}\n",
            path.display()
        );
    }
}

/// Injected into the parent chat when a task is done.
pub fn completed(
    rec: &TaskRecord,
    result: &str,
    memory: Option<&str>,
    memory_path: &Path,
    run_secs: f64,
) -> String {
    let id = &rec.task_id;
    let mut out = header("COMPLETED", rec, run_secs);
    let _ = writeln!(out, "\n{}", result.trim());
    memory_block(&mut out, memory, memory_path);
    if !rec.session_id.is_empty() {
        let _ = write!(
            out,
            "\nTo continue this task in its session: ductor task resume {id} \"<follow-up>\"\n"
        );
    }
    let _ = write!(
        out,
        "[END TASK RESULT]\n\n\
         Original task:\n{original}\n\n\
         This is the result of background task `{id}` that you started; it is not a \
         message from the user. Review it critically: if it is incomplete or wrong, continue \
         the task with `ductor task resume {id} \"<what to do next>\"`. Otherwise tell the \
         user the result in a short summary.",
        original = rec.original_prompt.trim()
    );
    out
}

/// Injected into the parent chat when a task failed.
pub fn failed(
    rec: &TaskRecord,
    reason: &str,
    memory: Option<&str>,
    memory_path: &Path,
    run_secs: f64,
) -> String {
    let id = &rec.task_id;
    let mut out = header("FAILED", rec, run_secs);
    let _ = writeln!(out, "Reason: {reason}");
    memory_block(&mut out, memory, memory_path);
    let _ = write!(
        out,
        "[END TASK RESULT]\n\n\
         Original task:\n{original}\n\n\
         Background task `{id}` that you started failed; this is not a message from the \
         user. Tell the user briefly what failed. If it is worth another attempt, continue \
         it with `ductor task resume {id} \"<instructions>\"` or start a new task.",
        original = rec.original_prompt.trim()
    );
    out
}

/// Injected into the parent chat when a task asks a question.
pub fn question(rec: &TaskRecord, question: &str) -> String {
    let id = &rec.task_id;
    format!(
        "[QUESTION FROM BACKGROUND TASK: task_id={id} name={name}]\n\
         {question}\n\
         [END QUESTION]\n\n\
         This question comes from your background task `{id}` ({name}), not from the user. \
         The task waits for the answer. Answer it with `ductor task resume {id} \"<answer>\"`. \
         If only the user can answer, ask the user first, then run that command with their \
         answer.",
        name = rec.name,
        question = question.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(session: &str) -> TaskRecord {
        serde_json::from_value(serde_json::json!({
            "task_id": "0badcafe", "name": "Demo", "provider": "claude", "model": "sonnet",
            "original_prompt": "say hello", "session_id": session,
        }))
        .unwrap()
    }

    #[test]
    fn results_are_wrapped_with_the_id_and_a_resume_hint() {
        let path = Path::new("/h/workspace/tasks/0badcafe/TASKMEMORY.md");
        let text = completed(&rec("s1"), "hello", Some("notes"), path, 12.4);
        assert!(text.starts_with("[BACKGROUND TASK COMPLETED: task_id=0badcafe name=Demo]"));
        assert!(text.contains("claude/sonnet · Duration: 12s"));
        assert!(text.contains(
            "CONTENT FROM TASKMEMORY.MD (/h/workspace/tasks/0badcafe/TASKMEMORY.md):\n\nnotes"
        ));
        assert!(text.contains("ductor task resume 0badcafe \"<follow-up>\""));
        let end = text.find("[END TASK RESULT]").unwrap();
        assert!(text[end..].contains("Original task:\nsay hello"));
        assert!(!completed(&rec(""), "x", None, path, 1.0).contains("<follow-up>"));
        let f = failed(&rec(""), "Timeout after 3600s", None, path, 3600.0);
        assert!(f.starts_with("[BACKGROUND TASK FAILED: task_id=0badcafe"));
        assert!(f.contains("Reason: Timeout after 3600s"));
    }

    #[test]
    fn a_question_names_its_task_and_how_to_answer() {
        let q = question(&rec(""), "Which colour?");
        assert!(q.starts_with(
            "[QUESTION FROM BACKGROUND TASK: task_id=0badcafe name=Demo]\nWhich colour?"
        ));
        assert!(q.contains("ductor task resume 0badcafe \"<answer>\""));
        assert!(q.contains("not from the user"));
    }

    #[test]
    fn the_task_prompt_keeps_the_instructions_first() {
        let p = task_prompt("say hello", "0badcafe", Path::new("/m/TASKMEMORY.md"));
        assert!(p.starts_with("say hello\n\n---\n[ductor background task 0badcafe]"));
        assert!(p.contains("ductor task ask-parent") && p.contains("/m/TASKMEMORY.md"));
        assert!(resume_prompt("go on", Path::new("/m")).starts_with("go on\n\n---\n[Reminder"));
    }
}
