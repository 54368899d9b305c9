//! The `log` interface: plugin messages go through tracing (target `plugin`,
//! with the task's name) and `progress` resources become progress bars.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::plugin::bindings::log::{Host, HostProgress, Level};
use crate::ui::Ui;

/// Per-run state of the `log` capability: the progress bars the plugin holds.
pub struct LogHost {
    task: String,
    ui: Arc<Ui>,
    bars: ResourceTable,
    drawn: usize,
}

/// A `progress` resource: a bar, or nothing when the plugin has too many.
pub struct ProgressHandle {
    bar: Option<ProgressBar>,
}

pub struct Log;
impl HasData for Log {
    type Data<'a> = &'a mut LogHost;
}

/// Bars beyond this many per run are not drawn: a plugin must not exhaust the
/// terminal. The handles still count against the task's handle limit.
const MAX_BARS: usize = 64;

impl LogHost {
    pub fn new(task: &str, ui: Arc<Ui>) -> LogHost {
        LogHost {
            task: task.to_owned(),
            ui,
            bars: ResourceTable::new(),
            drawn: 0,
        }
    }

    /// The table holding this task's progress handles (for its handle limit).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.bars
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

    fn finish(&mut self, handle: &mut ProgressHandle, message: Option<String>) {
        if let Some(bar) = handle.bar.take() {
            bar.finish_and_clear();
            self.ui.progress.remove(&bar);
            self.drawn -= 1;
            if let Some(message) = message {
                tracing::info!(target: "plugin", task = %self.task, "{message}");
            }
        }
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
}

impl HostProgress for LogHost {
    async fn new(
        &mut self,
        message: String,
        total: Option<u64>,
    ) -> wasmtime::Result<Resource<ProgressHandle>> {
        tracing::debug!(target: "plugin", task = %self.task, "progress: {message}");
        let bar = (self.drawn < MAX_BARS).then(|| {
            let bar = match total {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::new_spinner(),
            };
            bar.set_style(Self::bar_style(total));
            bar.set_prefix(self.task.clone());
            bar.set_message(message);
            if total.is_none() {
                bar.enable_steady_tick(Duration::from_millis(100));
            }
            self.drawn += 1;
            self.ui.progress.add(bar)
        });
        Ok(self.bars.push(ProgressHandle { bar })?)
    }

    async fn update(
        &mut self,
        this: Resource<ProgressHandle>,
        position: u64,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        if let Some(bar) = &self.bars.get(&this)?.bar {
            bar.set_position(position);
            if let Some(message) = message {
                bar.set_message(message);
            }
        }
        Ok(())
    }

    async fn finish(
        &mut self,
        this: Resource<ProgressHandle>,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        let mut handle = ProgressHandle {
            bar: self.bars.get_mut(&this)?.bar.take(),
        };
        self.finish(&mut handle, message);
        Ok(())
    }

    async fn drop(&mut self, this: Resource<ProgressHandle>) -> wasmtime::Result<()> {
        let mut handle = self.bars.delete(this)?;
        self.finish(&mut handle, None);
        Ok(())
    }
}

impl Drop for LogHost {
    /// A plugin that ends (or traps) with bars open must not leave them drawn.
    fn drop(&mut self) {
        for handle in self.bars.iter_mut() {
            if let Some(handle) = handle.downcast_mut::<ProgressHandle>()
                && let Some(bar) = handle.bar.take()
            {
                bar.finish_and_clear();
                self.ui.progress.remove(&bar);
            }
        }
    }
}
