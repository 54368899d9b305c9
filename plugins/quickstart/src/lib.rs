//! The built-in `quickstart` plugin: from a fresh clone to a healthy stack.
//! It reads a Compose file, checks prerequisites, pulls missing images,
//! creates and starts the services in dependency order, waits for each to be
//! ready and prints where to reach them; `status` prints the table again and
//! `down` removes the stack.
//!
//! ```toml
//! [tasks.quickstart]
//! plugin = "quickstart"
//! config = { file = "demo/compose.yaml" }
//! allow = { read = ["demo"], containers = ["demo-*"], images = ["run-test/*"],
//!           networks = ["demo-*"], volumes = ["demo-*"], ports = ["55432", "58080"],
//!           network = ["127.0.0.1:58080"] }
//! ```
//!
//! No `docker compose` binary is needed: everything goes through the
//! runner's container capability, limited by the task's grants.

mod compose;
mod config;
mod down;
mod duration;
mod interpolate;
mod plan;
mod prereq;
mod probe;
mod table;
mod up;
mod wait;

use run_plugin_sdk::{Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin, log};

use crate::config::{Config, Mode};

struct Quickstart;

impl Plugin for Quickstart {
    fn describe() -> Descriptor {
        // What a task reaches comes from its config and Compose file: see `needs`.
        Descriptor::new(
            "quickstart",
            env!("CARGO_PKG_VERSION"),
            "Start a Compose-defined stack and wait until it is ready (up, status, down)",
        )
        .parameter(Parameter::positional(
            "mode",
            "up (default: start and wait), status (print the table) or down (remove the stack)",
        ))
        .parameter(Parameter::flag(
            "volumes",
            "down: also remove the stack's named volumes, after a confirmation",
        ))
    }

    /// The Compose file's directory. Everything else a stack reaches
    /// (containers, networks, volumes, images, ports, probe addresses) is
    /// named by the Compose file, which `needs` may not read (it runs in an
    /// empty sandbox): the host checks those grants on every call.
    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        let config = Config::from_context(ctx)?;
        Ok(vec![Grant::read(config.relative_to_file("."))])
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config = Config::from_context(&ctx)?;
        let text = std::fs::read_to_string(&config.file).map_err(|e| {
            Error::failed(format!(
                "cannot read the Compose file `{}`: {e} (is its directory in allow.read?)",
                config.file
            ))
        })?;
        let lookup = |name: &str| std::env::var(name).ok();
        let stack = compose::parse(&text, &lookup)
            .map_err(|e| Error::invalid_input(format!("{}: {e}", config.file)))?;
        if !stack.unsupported.is_empty() {
            let keys = stack.unsupported.join(", ");
            if !config.allow_unsupported {
                return Err(Error::unsupported(format!(
                    "{}: unsupported Compose keys: {keys} (remove them, or set `allow_unsupported = true` in the task's config to ignore them with a warning)",
                    config.file
                )));
            }
            log::warn(format!(
                "{}: ignoring unsupported keys: {keys}",
                config.file
            ));
        }
        let project = match (&config.project, &stack.name) {
            (Some(p), _) => p.clone(),
            (None, Some(name)) => {
                config::check_project(name).map_err(|why| {
                    Error::invalid_input(format!("{}: `name`: {why}", config.file))
                })?;
                name.clone()
            }
            (None, None) => {
                return Err(Error::invalid_input(format!(
                    "{} has no `name`: give the project a name there or as `project` in the task's config",
                    config.file
                )));
            }
        };
        let plan = plan::build(&stack, &config, &project)
            .map_err(|e| Error::invalid_input(format!("{}: {e}", config.file)))?;
        if ctx.is_plan() {
            print_plan(&config, &plan);
            return Ok(());
        }
        match config.mode {
            Mode::Up => up::run(&config, &stack, &plan),
            Mode::Status => table::print(&plan),
            Mode::Down => down::run(&config, &plan),
        }
    }
}

export_plugin!(Quickstart);

/// `--plan`: what would be done, and nothing else.
fn print_plan(config: &Config, plan: &plan::Plan) {
    let verb = match config.mode {
        Mode::Up => "would start",
        Mode::Status => "would show",
        Mode::Down => "would remove",
    };
    println!("{verb} project {} from {}:", plan.project, config.file);
    for service in &plan.services {
        let urls = table::urls(service);
        println!(
            "  {} ({}) as {}{}",
            service.service.name,
            service.spec.image,
            service.container,
            if urls.is_empty() {
                String::new()
            } else {
                format!(" at {}", urls.join(" "))
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, Grant, Plugin};

    use super::Quickstart;

    #[test]
    fn needs_to_read_the_compose_file() {
        let needs = |config: &str| Quickstart::needs(&Context::new("qs", vec![], config));
        assert_eq!(
            needs(r#"{"file": "demo/compose.yaml"}"#).unwrap(),
            [Grant::read("demo")]
        );
        assert_eq!(needs("{}").unwrap(), [Grant::read(".")]);
        assert!(needs(r#"{"file": "/etc/compose.yaml"}"#).is_err());
    }
}
