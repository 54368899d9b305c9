//! The example plugin embedded in `run`: greets someone and leaves a note.
//!
//! ```toml
//! [tasks.hello]
//! plugin = "hello"
//! config = { name = "Ada" }
//! allow.write = ["out"]
//! ```

use run_plugin_sdk::log::{self, Progress};
use run_plugin_sdk::{Access, Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin};
use serde::Deserialize;

struct Hello;

/// Where the note goes. Fixed, because `describe` declares it as the plugin's
/// one need and the runner checks that against the task's grants.
const DIR: &str = "out";

/// The task's `config` table.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    /// Who to greet; `--name` overrides it.
    name: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: "world".into(),
        }
    }
}

impl Plugin for Hello {
    fn describe() -> Descriptor {
        Descriptor::new(
            "hello",
            env!("CARGO_PKG_VERSION"),
            "Greets someone and leaves a note",
        )
        .parameter(
            Parameter::option("name", "who to greet (overrides config)").default_value("world"),
        )
        .need(Grant::write(DIR))
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config: Config = ctx.config()?;
        let name = ctx.option("name").map_or(config.name, str::to_owned);
        let greeting = format!("Hello, {name}!");
        let note = format!("{DIR}/hello.txt");

        let progress = Progress::start("greeting", Some(3));
        println!("{greeting}");
        progress.set(1);

        if ctx.is_plan() {
            println!("would write {note}");
        } else {
            // The grant is the directory, so a refusal names the directory:
            // that is what the person has to add to `allow.write`.
            std::fs::write(&note, format!("{greeting}\n"))
                .map_err(|e| Error::io(DIR, Access::Write, e))?;
            log::info(format!("left a note in {note}"));
        }
        progress.set(2);

        log::debug(format!("greeted {name}"));
        progress.set(3);
        progress.finish(Some("greeted"));
        Ok(())
    }
}

export_plugin!(Hello);
