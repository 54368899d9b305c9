//! The `log` interface: plugin messages go through tracing (target `plugin`,
//! with the task's name) and progress events become progress bars.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wasmtime::component::HasData;

use crate::plugin::bindings::log::{Host, Level};
use crate::ui::Ui;

/// Per-run state of the `log` capability.
pub struct LogHost {
    task: String,
    ui: Arc<Ui>,
    bars: HashMap<u32, ProgressBar>,
    next_id: u32,
}

pub struct Log;
impl HasData for Log {
    type Data<'a> = &'a mut LogHost;
}

/// Bars beyond this many per run are ignored: a plugin must not exhaust the host.
const MAX_BARS: usize = 64;

impl LogHost {
    pub fn new(task: &str, ui: Arc<Ui>) -> LogHost {
        LogHost {
            task: task.to_owned(),
            ui,
            bars: HashMap::new(),
            next_id: 1,
        }
    }

    fn bar_style(total: Option<u64>) -> ProgressStyle {
        let template = if total.is_some() {
            "{prefix:.bold} {msg} [{bar:30}] {pos}/{len}"
        } else {
            "{prefix:.bold} {spinner} {msg}"
        };
        ProgressStyle::with_template(template)
            .expect("valid progress template")
            .progress_chars("=> ")
    }
}

/// Emits a plugin message through tracing at the plugin's level.
pub fn emit(task: &str, level: Level, message: &str) {
    match level {
        Level::Trace => tracing::trace!(target: "plugin", task, "{message}"),
        Level::Debug => tracing::debug!(target: "plugin", task, "{message}"),
        Level::Info => tracing::info!(target: "plugin", task, "{message}"),
        Level::Warn => tracing::warn!(target: "plugin", task, "{message}"),
        Level::Error => tracing::error!(target: "plugin", task, "{message}"),
    }
}

impl Host for LogHost {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        // Keep bars intact: print above them.
        self.ui
            .progress
            .suspend(|| emit(&self.task, level, &message));
        Ok(())
    }

    async fn progress_start(
        &mut self,
        message: String,
        total: Option<u64>,
    ) -> wasmtime::Result<u32> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if self.bars.len() >= MAX_BARS {
            return Ok(id);
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(Self::bar_style(total));
        bar.set_prefix(self.task.clone());
        bar.set_message(message.clone());
        if total.is_none() {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        let bar = self.ui.progress.add(bar);
        tracing::debug!(target: "plugin", task = %self.task, "progress: {message}");
        self.bars.insert(id, bar);
        Ok(id)
    }

    async fn progress_update(
        &mut self,
        id: u32,
        position: u64,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        if let Some(bar) = self.bars.get(&id) {
            bar.set_position(position);
            if let Some(message) = message {
                bar.set_message(message);
            }
        }
        Ok(())
    }

    async fn progress_finish(&mut self, id: u32, message: Option<String>) -> wasmtime::Result<()> {
        if let Some(bar) = self.bars.remove(&id) {
            bar.finish_and_clear();
            self.ui.progress.remove(&bar);
            if let Some(message) = message {
                tracing::info!(target: "plugin", task = %self.task, "{message}");
            }
        }
        Ok(())
    }
}

impl Drop for LogHost {
    /// A plugin that ends (or traps) with bars open must not leave them drawn.
    fn drop(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
            self.ui.progress.remove(&bar);
        }
    }
}
