//! `run plugin …`: commands about plugins themselves rather than tasks.
//!
//! - `run plugin inspect FILE.wasm|BUILTIN` ([`inspect`]) describes a plugin.
//! - `run plugin new NAME` ([`new`]) scaffolds a plugin crate in `./NAME`.

use std::sync::Arc;

use crate::error::Error;
use crate::ui::Ui;

mod crate_name;
mod embedded;
pub mod inspect;
pub mod new;
mod templates;

pub fn run(args: &[String], ui: Arc<Ui>) -> Result<i32, Error> {
    match args {
        [command, target] if command == "inspect" => inspect::run(target, ui),
        [command, name] if command == "new" => new::run(name),
        [command, ..] if command == "new" => Err(new::NewError::Usage.into()),
        _ => Err(Error::PluginUsage),
    }
}
