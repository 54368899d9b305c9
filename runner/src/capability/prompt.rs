//! The `prompt` interface. `--yes` answers confirmations; without a person at a
//! terminal (or under CI) the question's default is taken, and a question with
//! no default fails at once instead of blocking.

use std::sync::Arc;

use wasmtime::component::HasData;

use crate::plugin::bindings::prompt::{Host, PromptError};
use crate::ui::Ui;

pub struct PromptHost {
    task: String,
    ui: Arc<Ui>,
}

pub struct Prompt;
impl HasData for Prompt {
    type Data<'a> = &'a mut PromptHost;
}

/// How a question gets its answer, decided before anyone is asked.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<T> {
    Given(T),
    Ask,
    Unanswerable,
}

/// Confirmation policy: `--yes` wins, then a person, then the default.
pub fn confirm_policy(assume_yes: bool, interactive: bool, default: Option<bool>) -> Answer<bool> {
    match (assume_yes, interactive, default) {
        (true, _, _) => Answer::Given(true),
        (false, true, _) => Answer::Ask,
        (false, false, Some(default)) => Answer::Given(default),
        (false, false, None) => Answer::Unanswerable,
    }
}

/// Selection policy: `--yes` or no terminal take the default; with none, ask if
/// someone can answer.
pub fn select_policy(assume_yes: bool, interactive: bool, default: Option<u32>) -> Answer<u32> {
    match (default, assume_yes || !interactive) {
        (Some(default), true) => Answer::Given(default),
        (_, false) => Answer::Ask,
        (None, true) if interactive => Answer::Ask,
        (None, true) => Answer::Unanswerable,
    }
}

impl PromptHost {
    pub fn new(task: &str, ui: Arc<Ui>) -> PromptHost {
        PromptHost {
            task: task.to_owned(),
            ui,
        }
    }

    fn no_answer(&self, question: &str) -> PromptError {
        PromptError::NoAnswer(format!(
            "task `{}` asked \"{question}\" but no one can answer here (no terminal, or CI is set) and it has no default; pass --yes or run it in a terminal",
            self.task
        ))
    }

    fn theme(&self) -> Box<dyn dialoguer::theme::Theme + Send> {
        if self.ui.color {
            Box::new(dialoguer::theme::ColorfulTheme::default())
        } else {
            Box::new(dialoguer::theme::SimpleTheme)
        }
    }

    /// Runs a blocking dialoguer prompt off the async threads, one at a time,
    /// with progress bars hidden while it waits.
    async fn ask<T: Send + 'static>(
        &self,
        prompt: impl FnOnce() -> std::io::Result<Option<T>> + Send + 'static,
    ) -> wasmtime::Result<Result<T, PromptError>> {
        let _one_at_a_time = self.ui.prompt_lock.lock().await;
        let ui = self.ui.clone();
        let answer = tokio::task::spawn_blocking(move || ui.progress.suspend(prompt)).await?;
        Ok(match answer {
            Ok(Some(value)) => Ok(value),
            Ok(None) | Err(_) => Err(PromptError::Cancelled),
        })
    }
}

impl Host for PromptHost {
    async fn confirm(
        &mut self,
        question: String,
        default: Option<bool>,
    ) -> wasmtime::Result<Result<bool, PromptError>> {
        match confirm_policy(self.ui.assume_yes, self.ui.interactive, default) {
            Answer::Given(answer) => {
                tracing::info!(target: "plugin", task = %self.task, "{question} {}", if answer { "yes" } else { "no" });
                Ok(Ok(answer))
            }
            Answer::Unanswerable => Ok(Err(self.no_answer(&question))),
            Answer::Ask => {
                let theme = self.theme();
                self.ask(move || {
                    let mut confirm = dialoguer::Confirm::with_theme(theme.as_ref());
                    confirm = confirm.with_prompt(question);
                    if let Some(default) = default {
                        confirm = confirm.default(default);
                    }
                    confirm.interact_opt().map_err(std::io::Error::other)
                })
                .await
            }
        }
    }

    async fn select(
        &mut self,
        question: String,
        options: Vec<String>,
        default: Option<u32>,
    ) -> wasmtime::Result<Result<u32, PromptError>> {
        if options.is_empty() {
            return Ok(Err(PromptError::NoAnswer(format!(
                "\"{question}\" offers nothing to select"
            ))));
        }
        if default.is_some_and(|d| d as usize >= options.len()) {
            return Ok(Err(PromptError::NoAnswer(format!(
                "\"{question}\" has a default outside its {} options",
                options.len()
            ))));
        }
        match select_policy(self.ui.assume_yes, self.ui.interactive, default) {
            Answer::Given(index) => {
                tracing::info!(target: "plugin", task = %self.task, "{question} {}", options[index as usize]);
                Ok(Ok(index))
            }
            Answer::Unanswerable => Ok(Err(self.no_answer(&question))),
            Answer::Ask => {
                let theme = self.theme();
                self.ask(move || {
                    let mut select = dialoguer::Select::with_theme(theme.as_ref())
                        .with_prompt(question)
                        .items(&options);
                    if let Some(default) = default {
                        select = select.default(default as usize);
                    }
                    let picked = select.interact_opt().map_err(std::io::Error::other)?;
                    Ok(picked.map(|i| i as u32))
                })
                .await
            }
        }
    }
}
