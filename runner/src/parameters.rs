//! A plugin task's parameters, for `run --list` and shell completion.
//!
//! A built-in's descriptor is embedded in the binary. Others come from the
//! descriptor cache ([`plugin::descriptors`]), keyed by digest: a URL plugin's is its pin, a path
//! plugin's is its file's sha256 (remembered with the file's size, time and
//! inode in [`plugin::stamps`], so an unchanged file is not hashed again). On a miss the plugin is described once (in
//! the no-grant `describe` sandbox) and remembered; a URL plugin that was never
//! downloaded is not fetched: listing and completion never touch the network.
//! Nothing here fails: a plugin that cannot be described just shows no parameters.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::model::{Action, PluginSource, Task};
use crate::describe;
use crate::plugin::descriptors::{self, Known};
use crate::plugin::{Source, builtin, fetch, stamps};
use crate::ui::Ui;

/// Looks up, and describes on a miss, the plugins of several tasks with one
/// runtime made only when some plugin must be described.
pub struct Lookup {
    ui: Arc<Ui>,
    runtime: Option<tokio::runtime::Runtime>,
    /// What each plugin said, so 40 tasks of one plugin read its cached
    /// descriptor (and its stamp) once, not 40 times.
    seen: HashMap<PluginSource, Option<Known>>,
}

impl Lookup {
    pub fn new(ui: Arc<Ui>) -> Self {
        Lookup {
            ui,
            runtime: None,
            seen: HashMap::new(),
        }
    }

    /// What the task's plugin says about itself; `None` for command and group
    /// tasks and for plugins that cannot be described without the network.
    pub fn task(&mut self, task: &Task) -> Option<Known> {
        let Action::Plugin { source, .. } = &task.action else {
            return None;
        };
        self.plugin(source)
    }

    pub fn plugin(&mut self, source: &PluginSource) -> Option<Known> {
        if let Some(known) = self.seen.get(source) {
            return known.clone();
        }
        let known = self.look_up(source);
        self.seen.insert(source.clone(), known.clone());
        known
    }

    fn look_up(&mut self, source: &PluginSource) -> Option<Known> {
        let known_digest = match source {
            // A built-in's descriptor is embedded: nothing to read or load.
            PluginSource::Builtin(name) => {
                let builtin = builtin::get(name)?;
                if let Some(describe) = builtin.descriptor {
                    return Some(Known::from(&describe()));
                }
                Some(builtin.digest.to_owned())
            }
            PluginSource::Url { sha256, .. } => Some(sha256.clone()),
            // A file's digest is its content's: known from its stamp while
            // the file is unchanged, else it is read and hashed below.
            PluginSource::Path(path) => stamps::digest(path),
        };
        if let Some(known) = known_digest.as_deref().and_then(descriptors::get) {
            return Some(known);
        }
        if let PluginSource::Url { sha256, .. } = source
            && !fetch::is_cached(sha256)
        {
            return None;
        }
        let resolved = match Source::resolve(source) {
            Ok(resolved) => resolved,
            Err(error) => {
                tracing::debug!("no parameters for {}: {error}", source.display_name());
                return None;
            }
        };
        if let PluginSource::Path(path) = source {
            stamps::remember(path, &resolved.digest);
        }
        if let Some(known) = descriptors::get(&resolved.digest) {
            return Some(known);
        }
        self.describe(resolved)
    }

    fn describe(&mut self, source: Source) -> Option<Known> {
        if self.runtime.is_none() {
            self.runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok();
        }
        let runtime = self.runtime.as_ref()?;
        let name = source.name.clone();
        match runtime.block_on(describe::describe_source(source, self.ui.clone())) {
            Ok(described) => Some(Known::from(&described.descriptor)),
            Err(error) => {
                tracing::debug!("no parameters for {name}: {error}");
                None
            }
        }
    }
}

impl Drop for Lookup {
    fn drop(&mut self) {
        // A plugin may have left a blocking thread behind: never wait for it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
