//! One invocation of `run`, from arguments to exit code.

use std::sync::Arc;

use crate::cli::Cli;
use crate::config::{self, model::TaskFile};
use crate::error::{Error, suggest};
use crate::ui::Ui;
use crate::{dry_run, graph, invocation, list, logging, plugin, report, scheduler};

/// Runs `run` with the process's arguments and returns its exit code.
pub fn main() -> i32 {
    // `COMPLETE=bash run …` is the shell asking for completions.
    clap_complete::CompleteEnv::with_factory(crate::completion::command)
        .var(crate::completion::ENV)
        .complete();
    let mut split = match invocation::split(&invocation::args()) {
        Ok(split) => split,
        Err(error) => return usage_failed(error),
    };
    let first = split.parse();
    // Runner options after the task name are only known once the task is.
    if let Err(error) = settle(&mut split, &first) {
        return usage_failed(error);
    }
    let cli = split.parse();
    let ui = Arc::new(Ui::new(
        cli.options.color,
        cli.options.yes,
        cli.options.quiet > 0,
    ));
    logging::init(&cli.options, ui.color);
    match invoke(cli, ui.clone()) {
        Ok(code) => code,
        Err(error) => {
            crate::say!("{}", error.render(ui.color));
            error.exit_code()
        }
    }
}

/// Words that are never tasks.
const RESERVED: [&str; 3] = ["completions", "plugin", "import"];

/// A command line that cannot be split, before options like `--color` are known.
fn usage_failed(error: invocation::UsageError) -> i32 {
    let color = crate::ui::use_color(
        crate::cli::ColorChoice::Auto,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let error = Error::Usage(error);
    crate::say!("{}", error.render(color));
    error.exit_code()
}

/// Applies the rule for runner options after the task name and checks a
/// plugin task's options against its plugin's parameters
/// ([`invocation::settle`]). A tasks.toml that cannot be loaded is left for
/// the run itself to report.
fn settle(split: &mut invocation::Split, cli: &Cli) -> Result<(), invocation::UsageError> {
    use crate::config::model::Action;
    use invocation::Takes;
    if !invocation::has_options(split) {
        return Ok(());
    }
    let Some(name) = cli.task().filter(|name| !RESERVED.contains(name)) else {
        return Ok(());
    };
    let Ok(file) = load(&cli.options) else {
        return Ok(());
    };
    let Some(task) = file.task(name) else {
        return Ok(());
    };
    match &task.action {
        Action::Command { lines } if task.params.is_empty() => {
            // Without `params` the words are `$1 $2 …`; a command that never
            // reads them cannot want `--dry-run` or `-j4`: those are the runner's.
            if lines
                .iter()
                .chain(&task.finally)
                .any(|line| crate::command_args::reads_positional(line))
            {
                Ok(())
            } else {
                invocation::settle(split, Takes::Nothing, "")
            }
        }
        Action::Command { .. } => {
            let params = crate::command_args::as_options(&task.params);
            invocation::settle(split, Takes::Params(&params), "")
        }
        Action::Group => invocation::settle(split, Takes::Nothing, ""),
        Action::Plugin { source, .. } => {
            // Quiet: describing a plugin on a cache miss must not log yet.
            let ui = Arc::new(Ui::new(crate::cli::ColorChoice::Never, false, true));
            match crate::parameters::Lookup::new(ui).plugin(source) {
                Some(known) if !known.parameters.is_empty() => {
                    invocation::settle(split, Takes::Declared(&known), &source.display_name())
                }
                _ => Ok(()),
            }
        }
    }
}

fn invoke(cli: Cli, ui: Arc<Ui>) -> Result<i32, Error> {
    // `completions` is reserved: it needs no tasks.toml and is never a task.
    if cli.task() == Some("completions") {
        let shell = cli.task_args().first().map_or("", String::as_str);
        return completions(shell).map(|()| 0);
    }
    // So is `plugin`: commands about plugins, not tasks.
    if cli.task() == Some("plugin") {
        return crate::plugin_command::run(cli.task_args(), ui);
    }
    // And `import`: a Makefile made a tasks.toml, which need not exist yet.
    if cli.task() == Some("import") {
        return crate::import::run(cli.task_args(), ui.color);
    }
    let options = &cli.options;
    let file = load(options)?;

    if options.list {
        let mut lookup = crate::parameters::Lookup::new(ui.clone());
        let known: Vec<_> = file.tasks.iter().map(|t| lookup.task(t)).collect();
        drop(lookup);
        if options.json {
            crate::ui::print(&format!("{:#}\n", list::json(&file, &known)))?;
        } else {
            let color = crate::ui::use_color(
                options.color,
                std::io::IsTerminal::is_terminal(&std::io::stdout()),
            );
            crate::ui::print(&list::text(&file, &known, color))?;
        }
        return Ok(0);
    }

    let name = match cli.task() {
        Some(name) => name,
        None if file.task("default").is_some() => "default",
        None => {
            crate::ui::print(&list::text(&file, &[], false))?;
            return Err(Error::NoTask);
        }
    };
    // Aliases never collide with names (the parser checks), so either may match.
    let Some(root) = file
        .tasks
        .iter()
        .position(|t| t.name == name || t.aliases.iter().any(|a| a.value == name))
    else {
        let public = file.tasks.iter().filter(|t| !t.is_private());
        let names = public.flat_map(|t| {
            std::iter::once(t.name.as_str()).chain(t.aliases.iter().map(|a| a.value.as_str()))
        });
        return Err(Error::UnknownTask {
            name: name.to_owned(),
            file: file.path.clone(),
            suggestion: suggest(name, names),
        });
    };
    if file.tasks[root].is_private() {
        return Err(Error::PrivateTask {
            name: name.to_owned(),
            task: file.tasks[root].name.clone(),
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(options.jobs).clamp(2, 64))
        .enable_all()
        .build()?;
    if matches!(cli.task_args(), [flag] if flag == "--help" || flag == "-h") {
        let help = runtime.block_on(crate::task_help::render(&file.tasks[root], ui.clone()));
        runtime.shutdown_background();
        crate::ui::print(&help)?;
        return Ok(0);
    }
    // A command task's parameters are checked before anything runs.
    crate::command_args::bind(&file.tasks[root], cli.task_args())?;
    let plan = graph::plan(&file, root)?;
    // Only a real run records new plugins in tasks.lock.
    let record = !options.dry_run && !options.plan;
    let resolved = crate::lock::check(&file, plan.nodes.iter().map(|n| n.task), record)?;
    plugin::limits::init(usize::from(options.jobs));
    plugin::cache::refuse_if_granted(&granted_dirs(&file, &plan));
    if options.dry_run {
        let previews = runtime.block_on(dry_run::preview_plugins(
            &file,
            &plan,
            &resolved,
            cli.task_args(),
            ui.clone(),
        ));
        crate::ui::print(&dry_run::render(
            &file,
            &plan,
            &previews,
            cli.task_args(),
            options.force,
        ))?;
        let problems = dry_run::problems(&file, &plan, previews);
        for (task, error) in &problems {
            report::task_failed(&ui, task, error);
        }
        runtime.shutdown_background();
        return Ok(problems.first().map_or(0, |(_, error)| error.exit_code()));
    }

    let file = Arc::new(file);
    let scheduler_options = scheduler::Options {
        jobs: usize::from(options.jobs),
        keep_going: options.keep_going,
        force: options.force,
        plan: options.plan,
        echo: options.quiet == 0,
        buffer_output: ui.github_actions && options.jobs > 1,
        resolved: std::sync::Mutex::new(resolved),
    };
    let plan = Arc::new(plan);
    if options.watch {
        let code = crate::watch::run(
            file,
            plan,
            crate::watch::Runs {
                runtime: &runtime,
                args: cli.task_args().to_vec(),
                ui: ui.clone(),
                options: scheduler_options,
                verbose: options.verbose > 0,
            },
        );
        runtime.shutdown_background();
        return code;
    }
    let summary = runtime.block_on(scheduler::execute(
        file.clone(),
        plan.clone(),
        cli.task_args().to_vec(),
        ui.clone(),
        scheduler_options,
    ));
    report::summary(&file, &plan, &summary, options.verbose > 0);
    // Plugins may still hold blocking threads (a prompt, a sleep): do not wait.
    runtime.shutdown_background();
    Ok(summary.exit_code())
}

/// Every directory a task of the plan is granted (read or write), on the
/// host: the compile cache is not used when it lies inside one.
fn granted_dirs<'a>(file: &'a TaskFile, plan: &graph::Plan) -> Vec<plugin::cache::GrantedDir<'a>> {
    plan.nodes
        .iter()
        .map(|node| &file.tasks[node.task])
        .flat_map(|task| {
            task.allow
                .read
                .iter()
                .chain(&task.allow.write)
                .map(move |grant| plugin::cache::GrantedDir {
                    task: &task.name,
                    grant,
                    host: file.root.join(grant),
                })
        })
        .collect()
}

/// The tasks.toml given with `--file`, else the nearest one upwards from
/// `--working-directory`, else from the current directory.
fn load(options: &crate::cli::Options) -> Result<TaskFile, Error> {
    let path = match (&options.file, &options.working_directory) {
        (Some(path), _) => path.to_owned(),
        (None, Some(dir)) => {
            if !dir.is_dir() {
                return Err(Error::NoWorkingDirectory(dir.clone()));
            }
            config::find(dir).ok_or_else(|| Error::NoTasksFile(dir.clone()))?
        }
        (None, None) => {
            let cwd = std::env::current_dir()?;
            config::find(&cwd).ok_or(Error::NoTasksFile(cwd))?
        }
    };
    Ok(config::load(&path, &plugin::builtin::names())?)
}

fn completions(shell: &str) -> Result<(), Error> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| Error::UnknownShell(shell.to_owned()))?;
    let mut script = Vec::new();
    completer.write_registration(crate::completion::ENV, "run", "run", "run", &mut script)?;
    crate::ui::print(&String::from_utf8_lossy(&script))?;
    Ok(())
}
