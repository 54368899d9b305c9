//! `mode = "restore"`: choose a dump, verify it against its manifest, ask,
//! then stream it into psql in the container. Also the choosing, shared with
//! `restore-snapshot`.

use run_plugin_sdk::containers::{self, Compression, Container, ExecRequest};
use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::{Context, Error, log, prompt};

use crate::config::Config;
use crate::manifest::{self, Entry, Kind};
use crate::require_running;

pub fn run(ctx: &Context, config: &Config) -> Result<(), Error> {
    // One series per configured database, or the whole cluster.
    let scope: Vec<Option<String>> = match &config.databases {
        Some(databases) => databases.iter().cloned().map(Some).collect(),
        None => vec![None],
    };
    let chosen = choose(ctx, config, Kind::Dump, &scope)?;
    let db = containers::open(&config.container)?;
    require_running(&db.inspect()?, "restore into it")?;
    // Every chosen file is checked before anything touches the database.
    for entry in &chosen {
        manifest::verify(config, entry)?;
    }
    for entry in &chosen {
        restore(ctx, config, &db, entry)?;
    }
    Ok(())
}

fn restore(ctx: &Context, config: &Config, db: &Container, entry: &Entry) -> Result<(), Error> {
    let container = &config.container;
    let file = entry.file();
    if ctx.is_plan() {
        println!("would restore {file} into container `{container}` (sha256 verified)");
        return Ok(());
    }
    let what = match &entry.manifest.database {
        Some(db) => format!("the database `{db}`"),
        None => "the databases".to_owned(),
    };
    let question = format!("Overwrite {what} in {container} with {file}?");
    if !prompt::confirm(&question, None)? {
        return Err(Error::failed(format!(
            "not restoring {file}: declined; container `{container}` is unchanged"
        )));
    }
    load(config, db, file, entry.manifest.database.as_deref())?;
    println!("restored {file} into container `{container}`");
    Ok(())
}

/// Streams dump `file` (in the config's directory) into psql in `container`:
/// into `database` for a per-database dump, the whole cluster otherwise.
/// No questions asked; `restore` asks first, `--verify` loads into a
/// throwaway container it created.
pub fn load(
    config: &Config,
    container: &Container,
    file: &str,
    database: Option<&str>,
) -> Result<(), Error> {
    let request = ExecRequest::new(command(config, database))
        .stdin_file(config.path(file))
        .stdin_compression(Compression::Zstd);
    let what = format!("restoring {file} into container `{}`", container.name());
    log::info(&what);
    container.exec_ok(&request, &what)?;
    Ok(())
}

/// The restore command. A pg_dumpall dump made with --clean drops and
/// recreates every role, including the one psql is connected as; PostgreSQL
/// refuses that ("current user cannot be dropped"), which with
/// ON_ERROR_STOP would abort the restore after the databases were already
/// dropped. Those two lines are filtered out in the container (the role
/// already exists, and the dump's ALTER ROLE still restores its
/// attributes). A per-database dump has no roles and goes to psql directly.
fn command(config: &Config, database: Option<&str>) -> Vec<String> {
    let user = config.user.clone();
    if let Some(db) = database {
        return vec![
            "psql".into(),
            "-U".into(),
            user,
            "-v".into(),
            "ON_ERROR_STOP=1".into(),
            "-q".into(),
            "-d".into(),
            db.into(),
        ];
    }
    // pipefail where the shell has it (bash, busybox ash); the guard makes
    // a missing grep fail loudly instead of feeding psql nothing.
    let script = r#"command -v grep >/dev/null 2>&1 || { echo "restoring needs grep in the container" >&2; exit 127; }
(set -o pipefail) 2>/dev/null && set -o pipefail
grep -v -x -F -e "DROP ROLE IF EXISTS $2;" -e "CREATE ROLE $2;" -e "DROP ROLE IF EXISTS $3;" -e "CREATE ROLE $3;" | psql -U "$1" -v ON_ERROR_STOP=1 -q -d postgres"#;
    vec![
        "sh".into(),
        "-c".into(),
        script.into(),
        "restore".into(),
        user.clone(),
        user.clone(),
        quoted_identifier(&user),
    ]
}

/// `name` as a quoted SQL identifier. This is how pg_dumpall writes a role
/// name that is not a plain lowercase identifier; both spellings are
/// filtered, so keywords need no list here.
pub fn quoted_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The backups to restore: the one named on the command line, the newest of
/// each series in `scope` with `--latest`, or one picked at a prompt.
pub fn choose(
    ctx: &Context,
    config: &Config,
    kind: Kind,
    scope: &[Option<String>],
) -> Result<Vec<Entry>, Error> {
    let entries = manifest::list(config, kind)?;
    let what = match kind {
        Kind::Dump => "backups",
        Kind::Snapshot => "snapshots",
    };
    let none = || {
        Error::not_found(format!(
            "no {what} of `{}` in {}/ (take one with mode = \"{}\"; restoring needs {} in allow.read)",
            config.name,
            config.dir,
            match kind {
                Kind::Dump => "backup",
                Kind::Snapshot => "snapshot",
            },
            config.dir
        ))
    };
    if let Some(name) = ctx.args().iter().find(|a| !a.starts_with("--")) {
        // Accept the file name, its manifest's name, or either with the directory.
        let wanted = name.rsplit('/').next().unwrap_or(name);
        let wanted = wanted.strip_suffix(".json").unwrap_or(wanted);
        return match entries.into_iter().find(|e| e.file() == wanted) {
            Some(entry) => Ok(vec![entry]),
            None => Err(Error::not_found(format!(
                "no backup `{wanted}` of `{}` in {}/ (with a manifest)",
                config.name, config.dir
            ))),
        };
    }
    if !ctx.flag("latest") && !ctx.interactive() {
        let newest = entries
            .first()
            .map(|e| {
                let count = entries.len();
                let noun = if count == 1 {
                    &what[..what.len() - 1]
                } else {
                    what
                };
                format!(" ({count} {noun}, newest {})", e.file())
            })
            .unwrap_or_default();
        return Err(Error::invalid_input(format!(
            "which backup? give its file name (`run {task} FILE`) or --latest; \
             there is no terminal to choose one at{newest}",
            task = ctx.task(),
        )));
    }
    if entries.is_empty() {
        return Err(none());
    }
    if ctx.flag("latest") {
        let mut chosen = Vec::new();
        for series in scope {
            // Safety copies this very task took as its `before` hook hold the
            // state being replaced, so --latest means the newest one before them.
            let newest = entries.iter().find(|e| {
                e.manifest.series() == series.as_deref()
                    && e.manifest.hook_for.as_deref() != Some(ctx.task())
            });
            match newest {
                Some(entry) => chosen.push(entry.clone()),
                None => {
                    return Err(Error::not_found(format!(
                        "no {what} of `{}`{} in {}/",
                        config.name,
                        series
                            .as_deref()
                            .map(|s| format!(" for `{s}`"))
                            .unwrap_or_default(),
                        config.dir
                    )));
                }
            }
        }
        return Ok(chosen);
    }
    let now = Timestamp::now();
    let labels: Vec<String> = entries.iter().map(|e| e.label(now)).collect();
    let picked = prompt::select(
        &format!("Restore which backup of {}?", config.name),
        &labels,
        Some(0),
    )?;
    Ok(vec![entries[picked].clone()])
}
