//! Tasks as they come up: a user task is answered from `--answers`, by a prompt on the
//! terminal, or left waiting; an external task runs in the engine when its topic has a
//! module, waits for a remote worker with `--listen`, and otherwise ends the run (exit 3).

use baton_bpmn::model::FormField;
use baton_bpmn::{Value, Variables};

use super::trace::vars_json;
use super::{Outcome, Runner, Step};
use crate::cli::vars::{infer, parse_var, typed};

impl Runner {
    /// An external task was created: is there a module, a worker, or nobody?
    pub(super) async fn on_external_task(&mut self, topic: &str, activity_id: &str) -> Step {
        let stamp = self.stamp();
        if self.engine.module(topic).await.is_ok() {
            self.say(format!(
                "{stamp}    task `{topic}`: wasm module, in the engine"
            ));
            return Step::Continue;
        }
        match &self.api_url {
            Some(url) => {
                self.say(format!(
                    "{stamp}    task `{topic}`: waiting for a remote worker (fetchAndLock at {url}/external-task/fetchAndLock)"
                ));
                Step::Continue
            }
            None => Step::Done(self.fail(
                Outcome::NoWorker,
                format!(
                    "{} waits for a worker on topic `{topic}`, which has no wasm module here and no worker can reach it: \
                     pass --module {topic}=FILE.wasm, or --listen 127.0.0.1:8080 to let remote workers fetch it",
                    self.name_of(activity_id)
                ),
            )),
        }
    }

    /// A user task was created: answer it, or say that it waits.
    pub(super) async fn on_user_task(&mut self, task_id: &str, key: &str) -> Step {
        let stamp = self.stamp();
        let groups = match self.engine.user_task(task_id).await {
            Ok(t) if !t.candidate_groups.is_empty() => {
                format!(" (candidate groups: {})", t.candidate_groups.join(", "))
            }
            Ok(_) => String::new(),
            // Completed already (by a REST client with --listen): nothing to answer.
            Err(_) => return Step::Continue,
        };
        self.say(format!(
            "{stamp}    user task {}{groups}",
            self.name_of(key)
        ));
        let answer = match self.answers.as_mut() {
            Some(a) => a.take(key),
            None if self.interactive => match self.prompt(key).await {
                Ok(v) => Some(v),
                Err(e) => return Step::Done(self.fail(Outcome::Failed, e)),
            },
            None => None,
        };
        let Some(variables) = answer else {
            self.say(format!("{stamp}    no answer for {key}: it waits"));
            return Step::Continue;
        };
        self.say(format!("{stamp}    answer {}", vars_json(&variables)));
        match self.engine.complete_user_task(task_id, variables).await {
            Ok(_) => Step::Continue,
            Err(e) => {
                Step::Done(self.fail(Outcome::Failed, format!("completing user task {key}: {e}")))
            }
        }
    }

    /// Ask for a user task's variables on the terminal: one prompt per form field, or
    /// free `name=value` lines when the task has no form.
    async fn prompt(&self, key: &str) -> Result<Variables, String> {
        let (title, fields) = match self.user_tasks.get(key) {
            Some(s) => (
                s.name.clone().unwrap_or_else(|| key.to_owned()),
                s.fields.clone(),
            ),
            None => (key.to_owned(), Vec::new()),
        };
        tokio::task::spawn_blocking(move || prompt_blocking(&title, &fields))
            .await
            .map_err(|e| format!("prompt: {e}"))?
    }
}

/// The terminal dialogue of one user task (blocking: runs on a blocking thread).
fn prompt_blocking(title: &str, fields: &[FormField]) -> Result<Variables, String> {
    use std::io::Write as _;
    let stdin = std::io::stdin();
    let read = |prompt: &str| -> Result<String, String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) => Err("standard input closed while answering a user task".into()),
            Ok(_) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
            Err(e) => Err(format!("reading standard input: {e}")),
        }
    };
    outln!("        -- {title} --");
    let mut vars = Variables::new();
    if fields.is_empty() {
        outln!(
            "        enter variables as name=value (name:type=value to force a type), an empty line to finish"
        );
        loop {
            let line = read("        > ")?;
            if line.trim().is_empty() {
                return Ok(vars);
            }
            match parse_var(&line) {
                Ok((n, v)) => {
                    vars.insert(n, v);
                }
                Err(e) => outln!("        {e}"),
            }
        }
    }
    for field in fields {
        if field.readonly {
            continue;
        }
        let label = field.label.clone().unwrap_or_else(|| field.id.clone());
        let mut hint = field.type_name.clone();
        if field.type_name == "enum" {
            hint = field
                .enum_values
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join("/");
        }
        if field.required {
            hint.push_str(", required");
        }
        loop {
            let text = read(&format!("        {label} [{hint}]: "))?;
            if text.trim().is_empty() {
                if field.required {
                    outln!("        {label} is required");
                    continue;
                }
                break;
            }
            let value = match field.type_name.as_str() {
                "boolean" => typed("boolean", &text),
                "long" => typed("long", &text),
                "date" => typed("date", &text),
                "string" => Ok(Value::String(text.clone())),
                "enum" => {
                    if field.enum_values.iter().any(|(id, _)| id == text.trim()) {
                        Ok(Value::String(text.trim().to_owned()))
                    } else {
                        Err(format!("choose one of: {hint}"))
                    }
                }
                _ => Ok(infer(&text)),
            };
            match value {
                Ok(v) => {
                    vars.insert(field.id.clone(), v);
                    break;
                }
                Err(e) => outln!("        {e}"),
            }
        }
    }
    Ok(vars)
}
