//! `run import MAKEFILE`: a Makefile's targets as a tasks.toml of command
//! tasks, with a report of what could not be converted, each at its
//! file:line. None of the peer runners has it.
//!
//! - [`makefile`] reads a Makefile into statements (nothing expanded);
//! - [`variables`] holds make's variables and expands `$(…)` where the
//!   result is knowable without make;
//! - [`recipe`] turns one recipe line into one command line;
//! - [`targets`] walks the statements (following includes) into make's view:
//!   variables, targets with their rules, `.PHONY`, exports;
//! - [`convert`] makes each target a task, or says why not, with [`needs`]
//!   deciding what a left-out target takes with it;
//! - [`write`] prints the tasks.toml; [`report`] says what was not converted.
//!
//! The result is loaded back with the runner's own loader before it is
//! written, and written atomically: a tasks.toml that exists is always whole.

mod convert;
mod makefile;
mod needs;
mod recipe;
mod report;
mod targets;
mod variables;
mod write;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Parser;

pub use report::{Finding, Place};

/// The arguments after `run import`.
#[derive(Debug, Parser)]
#[command(
    name = "run import",
    about = "Convert a Makefile's targets into a tasks.toml of command tasks",
    after_help = "What converts to what, and what is refused: docs/import.md.\nThe report (stderr) lists what was not converted, each with the Makefile's file:line."
)]
struct Args {
    /// The Makefile to convert.
    #[arg(value_name = "MAKEFILE")]
    makefile: PathBuf,

    /// Where to write (default: tasks.toml beside the Makefile).
    #[arg(short, long, value_name = "FILE", conflicts_with = "stdout")]
    output: Option<PathBuf>,

    /// Print the tasks.toml on stdout instead of writing a file.
    #[arg(long)]
    stdout: bool,

    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} exists; pass --force to replace it, or -o FILE to write elsewhere", path.display())]
    Exists { path: PathBuf },
    #[error("{} is a directory; -o takes the file to write, e.g. -o {}", path.display(), path.join(crate::config::FILE_NAME).display())]
    OutputIsDirectory { path: PathBuf },
    #[error("{place}: `.RECIPEPREFIX` changes how make reads every recipe; not converted")]
    RecipePrefix { place: Place },
    #[error("nothing to import: no target of {} could be converted{}", makefile.display(), list(findings))]
    NothingConverted {
        makefile: PathBuf,
        findings: Vec<Finding>,
    },
    /// The converter wrote a file the loader refuses or reads differently: a bug.
    #[error(
        "the converted tasks.toml does not load back (a bug in `run import`, please report it):\n{message}"
    )]
    RoundTrip { message: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(findings: &[Finding]) -> String {
    let not_converted: Vec<String> = findings
        .iter()
        .filter(|f| f.severity() == report::Severity::NotConverted)
        .map(|f| format!("\n  {}", f.render(false)))
        .collect();
    not_converted.concat()
}

/// `run import ARGS…`; returns the exit code (0 when a tasks.toml was written
/// or printed, even with targets not converted: the report lists them).
pub fn run(args: &[String], color: bool) -> Result<i32, crate::error::Error> {
    let args = match Args::try_parse_from(
        std::iter::once("run import".to_owned()).chain(args.iter().cloned()),
    ) {
        Ok(args) => args,
        Err(error) => {
            // Help and usage errors print themselves; usage errors exit 2.
            let _ = error.print();
            return Ok(error.exit_code());
        }
    };
    let output = args.output.clone().unwrap_or_else(|| {
        let dir = args.makefile.parent().unwrap_or(Path::new(""));
        dir.join(crate::config::FILE_NAME)
    });
    if !args.stdout && output.is_dir() {
        return Err(ImportError::OutputIsDirectory { path: output }.into());
    }
    if !args.stdout && !args.force && output.exists() {
        return Err(ImportError::Exists { path: output }.into());
    }
    let import = convert::convert(&convert::Options {
        makefile: &args.makefile,
        output: &output,
    })?;
    let invocation = format!("run import {}", args.makefile.display());
    let text = write::tasks_toml(&import, &invocation);
    round_trip(&import, &output, &text)?;

    let tasks = import.tasks().count();
    let summary = if args.stdout {
        let written = std::io::stdout().lock().write_all(text.as_bytes());
        // A reader that stopped early (`| head`) is not an error.
        match written {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(ImportError::Write {
                    path: PathBuf::from("stdout"),
                    source: error,
                }
                .into());
            }
            _ => {}
        }
        format!("converted {} to {tasks} task(s)", import.makefile)
    } else {
        write_atomically(&output, &text, args.force)?;
        format!(
            "wrote {}: {tasks} task(s) from {}",
            output.display(),
            import.makefile
        )
    };
    let not_converted = import.not_converted();
    let summary = if not_converted > 0 {
        format!(
            "{summary}; {not_converted} target(s) not converted (listed above, and as comments in the file)"
        )
    } else {
        summary
    };
    let report = report::render(&import.findings, &summary, color);
    // Never a panic for a closed stderr: the file is written either way.
    let _ = std::io::stderr().lock().write_all(report.as_bytes());
    Ok(0)
}

/// Loads the text with the runner's own loader and checks each task reads
/// back as written: its commands, dependencies and description.
fn round_trip(import: &convert::Import, output: &Path, text: &str) -> Result<(), ImportError> {
    let path = std::path::absolute(output).unwrap_or_else(|_| output.to_owned());
    let loaded =
        crate::config::parse(&path, text, &crate::plugin::builtin::names()).map_err(|error| {
            ImportError::RoundTrip {
                message: error.render(false),
            }
        })?;
    let mismatch = |name: &str, what: &str| ImportError::RoundTrip {
        message: format!("task `{name}`: its {what} read back differently"),
    };
    let expected: Vec<&convert::Task> = import.tasks().collect();
    if loaded.tasks.len() != expected.len() {
        return Err(ImportError::RoundTrip {
            message: format!(
                "{} tasks written, {} read back",
                expected.len(),
                loaded.tasks.len()
            ),
        });
    }
    for (task, got) in expected.iter().zip(&loaded.tasks) {
        if got.name != task.name {
            return Err(mismatch(&task.name, "name"));
        }
        let commands: Vec<&String> = task
            .lines
            .iter()
            .filter_map(|l| match l {
                convert::TaskLine::Command(c) => Some(c),
                convert::TaskLine::Comment(_) => None,
            })
            .collect();
        let same_commands = match &got.action {
            crate::config::Action::Command { lines } => lines.iter().eq(commands.iter().copied()),
            crate::config::Action::Group => commands.is_empty(),
            crate::config::Action::Plugin { .. } => false,
        };
        if !same_commands {
            return Err(mismatch(&task.name, "command"));
        }
        if !got.depends.iter().map(|d| &d.value).eq(task.depends.iter()) {
            return Err(mismatch(&task.name, "depends"));
        }
        if got.description != task.description {
            return Err(mismatch(&task.name, "description"));
        }
    }
    Ok(())
}

/// Writes through a temporary file in the same directory, renamed into place
/// only when complete: an interrupted import leaves no partial tasks.toml.
/// Without `force`, the rename refuses to replace a file that appeared meanwhile.
fn write_atomically(path: &Path, text: &str, force: bool) -> Result<(), ImportError> {
    let error = |source| ImportError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".tasks.toml.")
        .tempfile_in(dir)
        .map_err(error)?;
    file.write_all(text.as_bytes()).map_err(error)?;
    file.as_file().sync_all().map_err(error)?;
    // The temporary file is private (0600); a tasks.toml is read by everyone.
    let mode = std::fs::metadata(path).map_or(0o644, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions())
    });
    std::fs::set_permissions(
        file.path(),
        std::os::unix::fs::PermissionsExt::from_mode(mode),
    )
    .map_err(error)?;
    let persisted = if force {
        file.persist(path).map(|_| ())
    } else {
        file.persist_noclobber(path).map(|_| ())
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            ImportError::Exists {
                path: path.to_owned(),
            }
        } else {
            error(e.error)
        }
    })
}
