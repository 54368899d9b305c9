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
    let server = match database {
        Some(_) => Server::default(),
        None => server(config, container)?,
    };
    let request = ExecRequest::new(command(config, database, &server))
        .stdin_file(config.path(file))
        .stdin_compression(Compression::Zstd);
    let what = format!("restoring {file} into container `{}`", container.name());
    log::info(&what);
    container.exec_ok(&request, &what)?;
    Ok(())
}

/// What a cluster restore needs to know of the server it goes into.
#[derive(Debug, Default)]
struct Server {
    /// Its roles (but the built-in `pg_*` ones): a cluster dump must not
    /// drop and recreate them.
    roles: Vec<String>,
    /// PostgreSQL 13 or later: `DROP DATABASE … WITH (FORCE)` exists.
    force_drop: bool,
}

fn server(config: &Config, container: &Container) -> Result<Server, Error> {
    let request = ExecRequest::new([
        "psql",
        "-XAtq",
        "-U",
        &config.user,
        "-d",
        "postgres",
        "-c",
        "SELECT current_setting('server_version_num')",
        "-c",
        "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1",
    ]);
    let out = container.exec_ok(
        &request,
        &format!("listing the roles of container `{}`", container.name()),
    )?;
    let text = out.stdout_text();
    let mut lines = text.lines();
    let version: u32 = lines
        .next()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(Server {
        roles: lines.map(str::to_owned).collect(),
        force_drop: version >= 130_000,
    })
}

/// The restore command. A pg_dumpall dump made with --clean drops and
/// recreates every role. PostgreSQL refuses to drop the role psql is
/// connected as ("current user cannot be dropped"), and a role that holds
/// privileges (Patroni's `rewind` user may run pg_ls_dir and friends) or
/// owns objects cannot be dropped either; with ON_ERROR_STOP either would
/// abort the restore after the databases were already dropped. So the
/// `DROP ROLE` and `CREATE ROLE` lines of every role the server already has
/// (`roles`, in both spellings pg_dumpall may use) are filtered out in the
/// container: the role exists, and the dump's `ALTER ROLE` still restores
/// its attributes and password.
///
/// Each database the dump replaces is dropped first, and a server with
/// sessions in it refuses ("being accessed by other users"): Patroni itself
/// stays connected to `postgres`. From PostgreSQL 13 on, the dump's
/// `DROP DATABASE [IF EXISTS] X;` lines (pg_dumpall writes `DROP DATABASE
/// postgres;` for the databases it recreates) become `… WITH (FORCE)`, which ends
/// those sessions (a client of a database being replaced loses its
/// connection either way). A per-database dump has no roles, drops objects
/// rather than the database, and goes to psql directly.
fn command(config: &Config, database: Option<&str>, server: &Server) -> Vec<String> {
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
    // a missing awk fail loudly instead of feeding psql nothing. The role
    // names arrive as arguments (never in the script's text) and become
    // whole lines to leave out: for each one, two are appended and it is
    // shifted off; awk takes them out of ARGV so it reads the dump from
    // stdin. Only lines outside COPY blocks are filtered or rewritten: a
    // table row that reads `DROP DATABASE x;` or `CREATE ROLE x;` is data
    // and is restored as it was.
    let script = r#"command -v awk >/dev/null 2>&1 || { echo "restoring needs awk in the container" >&2; exit 127; }
(set -o pipefail) 2>/dev/null && set -o pipefail
u=$1; force=$2; shift 2
for r do set -- "$@" "DROP ROLE IF EXISTS $r;" "CREATE ROLE $r;"; shift; done
awk -v force="$force" '
BEGIN { for (i = 1; i < ARGC; i++) { skip[ARGV[i]] = 1; delete ARGV[i] } }
copy { print; if ($0 == "\\.") copy = 0; next }
/^COPY .* FROM stdin;$/ { copy = 1; print; next }
($0 in skip) { next }
force == "force" && /^DROP DATABASE [^;]*;$/ { sub(/;$/, " WITH (FORCE);"); print; next }
{ print }
' "$@" | psql -U "$u" -v ON_ERROR_STOP=1 -q -d postgres"#;
    let mut command: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        script.into(),
        "restore".into(),
        user.clone(),
        if server.force_drop { "force" } else { "" }.into(),
    ];
    let mut names: Vec<&str> = server.roles.iter().map(String::as_str).collect();
    if !names.contains(&user.as_str()) {
        names.push(&user);
    }
    for name in names {
        command.push(name.to_owned());
        command.push(quoted_identifier(name));
    }
    command
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

#[cfg(test)]
mod tests {
    use run_plugin_sdk::Context;

    use super::{Server, command};
    use crate::config::Config;

    #[test]
    fn a_cluster_restore_keeps_every_existing_role_in_both_spellings() {
        let config =
            Config::from_context(&Context::new("r", Vec::new(), r#"{"container": "pg"}"#)).unwrap();
        let server = Server {
            roles: vec!["postgres".to_owned(), "rewind".to_owned()],
            force_drop: true,
        };
        let c = command(&config, None, &server);
        assert_eq!(&c[..2], ["sh", "-c"]);
        assert_eq!(
            &c[3..],
            [
                "restore",
                "postgres",
                "force",
                "postgres",
                "\"postgres\"",
                "rewind",
                "\"rewind\""
            ]
        );
        // The connecting user is kept even when the listing missed it; no
        // FORCE before PostgreSQL 13.
        let c = command(&config, None, &Server::default());
        assert_eq!(&c[4..], ["postgres", "", "postgres", "\"postgres\""]);
        assert_eq!(command(&config, Some("shop"), &server)[0], "psql");
    }
}
