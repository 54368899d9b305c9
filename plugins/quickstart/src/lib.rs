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

mod build;
mod compose;
mod config;
mod dotenv;
mod down;
mod duration;
mod interpolate;
mod plan;
mod prereq;
mod probe;
mod profiles;
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
            "build",
            "up: build every `build:` image, even when its context did not change",
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
        let dotenv = dotenv_of(&config)?;
        let lookup = |name: &str| {
            std::env::var(name).ok().or_else(|| {
                dotenv
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        // A file the Compose file names (`env_file`, `extends.file`), read
        // beneath the task's read grants; outside them, the grant to add.
        let read = |path: &str| {
            let at = config.relative_to_file(path);
            std::fs::read_to_string(&at).map_err(|e| {
                let dir = at.rsplit_once('/').map_or(".", |(d, _)| d);
                format!(
                    "{e} (read as `{at}`; a file outside the task's read grants needs one: allow = {{ read = [\"{dir}\"] }})"
                )
            })
        };
        let sources = compose::Sources {
            lookup: &lookup,
            read: &read,
        };
        let mut stack = compose::parse(&text, &sources).map_err(|p| problems(&config.file, p))?;
        if !stack.unsupported.is_empty() {
            // Each key with its line where it can be found: `line 6: services.ssh.build.ssh (why)`.
            let keys = stack
                .unsupported
                .iter()
                .map(|k| {
                    let path = k.split_once(" (").map_or(k.as_str(), |(p, _)| p);
                    match compose::line_of(&text, path) {
                        Some(line) => format!("line {line}: {k}"),
                        None => k.clone(),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
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
        for note in &stack.notes {
            log::warn(format!("{}: {note}: no effect here", config.file));
        }
        profiles::apply(&mut stack, &config, &lookup).map_err(|p| problems(&config.file, p))?;
        let project = project_name(&config, &stack, &lookup)?;
        let plan = plan::build(&stack, &config, &project)
            .map_err(|e| Error::invalid_input(format!("{}: {e}", config.file)))?;
        if ctx.is_plan() {
            // Everything a real run checks before it changes anything.
            let mut built = build::Built::new();
            if config.mode == Mode::Up {
                prereq::check(&config, &stack, &plan)?;
                prereq::check_with_engine(&plan)?;
                built = build::run(&config, &plan, config.build_always)?;
            } else {
                prereq::check_variables(&config, &stack)?;
            }
            print_plan(&config, &plan, &built);
            return Ok(());
        }
        match config.mode {
            Mode::Up => up::run(&config, &stack, &plan),
            Mode::Status => table::print(&plan),
            Mode::Down => down::run(&config, &plan),
        }
    }
}

/// Every problem of the file, one per line.
fn problems(file: &str, problems: Vec<String>) -> Error {
    if let [one] = problems.as_slice() {
        return Error::invalid_input(format!("{file}: {one}"));
    }
    let mut message = format!("{file}: {} problems:", problems.len());
    for problem in &problems {
        message.push_str("\n  - ");
        message.push_str(problem);
    }
    Error::invalid_input(message)
}

/// The project's `.env` beside the Compose file (Compose's default), if any.
fn dotenv_of(config: &Config) -> Result<Vec<(String, String)>, Error> {
    let path = config.relative_to_file(".env");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::failed(format!("cannot read `{path}`: {e}"))),
    };
    let entries = dotenv::parse(&text)
        .map_err(|(line, why)| Error::invalid_input(format!("{path}:{line}: {why}")))?;
    // A value may use the environment and the lines before it
    // (`IMAGE_TAG="${IMAGE_TAG:-latest}"`), as under Compose.
    let mut vars: Vec<(String, String)> = Vec::new();
    for (key, value) in entries {
        let Some(value) = value else { continue };
        let text = if value.literal {
            value.text
        } else {
            let lookup = |name: &str| {
                std::env::var(name).ok().or_else(|| {
                    vars.iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                })
            };
            // A variable it lacks is empty here; one the file needs is reported there.
            interpolate::interpolate(&value.text, &lookup, &mut Vec::new())
                .map_err(|e| Error::invalid_input(format!("{path}: {key}: {e}")))?
        };
        vars.push((key, text));
    }
    Ok(vars)
}

/// As Compose: the task's `project`, else `COMPOSE_PROJECT_NAME`, else the
/// file's `name`, else the name of the file's directory.
fn project_name(
    config: &Config,
    stack: &compose::Stack,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Error> {
    if let Some(p) = &config.project {
        return Ok(p.clone());
    }
    let given = [
        ("COMPOSE_PROJECT_NAME", lookup("COMPOSE_PROJECT_NAME")),
        ("`name`", stack.name.clone()),
    ];
    for (from, name) in given {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            config::check_project(&name)
                .map_err(|why| Error::invalid_input(format!("{}: {from}: {why}", config.file)))?;
            return Ok(name);
        }
    }
    let dir = config.relative_to_file(".");
    let last = dir.rsplit('/').next().unwrap_or(".");
    if last != "."
        && last != ".."
        && let Some(name) = config::project_from_dir(last)
    {
        return Ok(name);
    }
    Err(Error::invalid_input(format!(
        "{} has no `name` and its directory gives none: give the project a name there, as `project` in the task's config, or in COMPOSE_PROJECT_NAME",
        config.file
    )))
}

export_plugin!(Quickstart);

/// `--plan`: what would be done, and nothing else.
fn print_plan(config: &Config, plan: &plan::Plan, built: &build::Built) {
    let verb = match config.mode {
        Mode::Up => "would start",
        Mode::Status => "would show",
        Mode::Down => "would remove",
    };
    println!("{verb} project {} from {}:", plan.project, config.file);
    for service in &plan.services {
        let urls = table::urls(service);
        let build = build::describe(config, plan, built, &service.service.name)
            .map(|b| format!(", {b}"))
            .unwrap_or_default();
        println!(
            "  {} ({}{build}) as {}{}",
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
