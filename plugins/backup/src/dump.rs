//! `mode = "backup"`: dump the databases through `container.exec`, with the
//! host compressing and hashing stdout straight into a file, so the dump
//! never passes through plugin memory. With `--verify`, the new dumps are
//! then checked in a throwaway container (see [`verify`]).

use run_plugin_sdk::containers::{
    self, Compression, Container, ContainerDetails, ExecRequest, ExecResult, FileInfo,
};
use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::{Context, Error, log};

use crate::config::Config;
use crate::manifest::{self, Kind, Manifest};
use crate::{require_running, retention, unique_file, verify};

/// The last line pg_dumpall writes; without it the dump was cut short.
const CLUSTER_MARKER: &str = "-- PostgreSQL database cluster dump complete";
/// The last line pg_dump writes in plain format.
const DATABASE_MARKER: &str = "-- PostgreSQL database dump complete";

/// One dump to take: the whole cluster or one database.
struct Job {
    database: Option<String>,
    command: Vec<String>,
    marker: &'static str,
    file: String,
}

pub fn run(ctx: &Context, config: &Config) -> Result<(), Error> {
    let db = containers::open(&config.container)?;
    let details = db.inspect()?;
    require_running(&details, "back it up")?;
    manifest::recover_interrupted(ctx, config)?;

    let now = Timestamp::now();
    let jobs = jobs(config, now)?;
    if ctx.is_plan() {
        for job in &jobs {
            println!(
                "would run `{}` in container `{}` into {}",
                job.command.join(" "),
                config.container,
                config.path(&job.file)
            );
        }
        if ctx.flag("verify") {
            let files: Vec<String> = jobs.iter().map(|j| config.path(&j.file)).collect();
            verify::plan(config, &details, &files, now);
        }
        return retention::apply(ctx, config, Kind::Dump, &series(&jobs), 1);
    }

    let mut taken = Vec::new();
    for job in &jobs {
        let manifest = dump(ctx, config, &db, &details, job, now)?;
        println!(
            "backed up {} into {} ({})",
            job.database.as_deref().map_or_else(
                || format!("container `{}`", config.container),
                |db| { format!("database `{db}` of container `{}`", config.container) }
            ),
            config.path(&manifest.file),
            manifest::human_size(manifest.bytes)
        );
        taken.push(manifest);
    }
    if ctx.flag("verify") {
        // Before retention: a backup that fails verification prunes nothing.
        verify::run(config, &db, &details, &taken, now)?;
    }
    retention::apply(ctx, config, Kind::Dump, &series(&jobs), 0)
}

fn series(jobs: &[Job]) -> Vec<Option<String>> {
    jobs.iter().map(|j| j.database.clone()).collect()
}

fn jobs(config: &Config, now: Timestamp) -> Result<Vec<Job>, Error> {
    let stamp = now.file_stamp();
    let user = config.user.clone();
    let Some(databases) = &config.databases else {
        // --clean --if-exists: the dump drops what it recreates, so it
        // restores over existing data.
        let command = vec![
            "pg_dumpall".into(),
            "-U".into(),
            user,
            "--clean".into(),
            "--if-exists".into(),
        ];
        let file = unique_file(config, &format!("{}_{stamp}", config.name), ".sql.zst")?;
        return Ok(vec![Job {
            database: None,
            command,
            marker: CLUSTER_MARKER,
            file,
        }]);
    };
    databases
        .iter()
        .map(|db| {
            let command = vec![
                "pg_dump".into(),
                "-U".into(),
                user.clone(),
                "--clean".into(),
                "--if-exists".into(),
                // A database named like an option must not be taken for one.
                format!("--dbname={db}"),
            ];
            let file = unique_file(config, &format!("{}-{db}_{stamp}", config.name), ".sql.zst")?;
            Ok(Job {
                database: Some(db.clone()),
                command,
                marker: DATABASE_MARKER,
                file,
            })
        })
        .collect()
}

/// Takes one dump; on any failure nothing of it is left in the directory.
fn dump(
    ctx: &Context,
    config: &Config,
    db: &Container,
    details: &ContainerDetails,
    job: &Job,
    now: Timestamp,
) -> Result<Manifest, Error> {
    let partial = config.path(&format!(".{}.partial", job.file));
    let request = ExecRequest::new(job.command.clone())
        .stdout_file(partial.clone())
        .stdout_compression(Compression::Zstd);
    log::info(format!(
        "running `{}` in container `{}`",
        job.command.join(" "),
        config.container
    ));
    let result = match db.exec(&request) {
        Ok(result) => result,
        Err(e) => {
            manifest::remove_quietly(&partial);
            return Err(e.context(format!(
                "backing up container `{}` failed",
                config.container
            )));
        }
    };
    let file = match check(config, job, &result) {
        Ok(file) => file,
        Err(e) => {
            manifest::remove_quietly(&partial);
            return Err(e);
        }
    };
    let stderr = result.stderr_text();
    if !stderr.is_empty() {
        log::warn(format!("{}: {stderr}", job.command[0]));
    }

    let manifest = Manifest {
        schema: manifest::SCHEMA.into(),
        kind: Kind::Dump,
        file: job.file.clone(),
        name: config.name.clone(),
        created_at: now.rfc3339(),
        container: config.container.clone(),
        image: details.image.clone(),
        command: job.command.clone(),
        database: job.database.clone(),
        volume: None,
        server_version: server_version(config, db, job.database.as_deref()),
        bytes: file.bytes,
        uncompressed_bytes: Some(result.stdout_bytes),
        sha256: file.sha256,
        compression: "zstd".into(),
        exit_code: Some(result.exit_code),
        pinned: ctx.hook_for().is_some(),
        hook_for: ctx.hook_for().map(str::to_owned),
    };
    manifest::commit(config, &partial, &manifest)?;
    Ok(manifest)
}

/// A dump is good only if the command succeeded, wrote something, and ended
/// with its completion marker (a dump cut short by a dying server or a full
/// disk in the container has no marker).
fn check(config: &Config, job: &Job, result: &ExecResult) -> Result<FileInfo, Error> {
    let program = &job.command[0];
    let container = &config.container;
    let stderr = result.stderr_text();
    if !result.success() {
        let why = if stderr.is_empty() {
            "it printed nothing on stderr".to_owned()
        } else {
            stderr
        };
        return Err(Error::failed(format!(
            "{program} in container `{container}` failed with exit code {}: {why}",
            result.exit_code
        )));
    }
    if result.stdout_bytes == 0 {
        return Err(Error::failed(format!(
            "{program} in container `{container}` wrote nothing{}",
            suffix(&stderr)
        )));
    }
    let tail = String::from_utf8_lossy(&result.stdout_tail);
    if !tail.contains(job.marker) {
        return Err(Error::failed(format!(
            "the dump of container `{container}` is truncated: {program} exited 0 after {} bytes without its completion marker `{}`{}",
            result.stdout_bytes,
            job.marker,
            suffix(&stderr)
        )));
    }
    result.file.clone().ok_or_else(|| {
        Error::failed(format!(
            "the host did not report the file it wrote for {program} in container `{container}`"
        ))
    })
}

fn suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// The server's version for the manifest; informational, so a failure to
/// read it never fails a good dump.
fn server_version(config: &Config, db: &Container, database: Option<&str>) -> Option<String> {
    let query = ExecRequest::new([
        "psql",
        "-At",
        "-U",
        &config.user,
        "-d",
        database.unwrap_or("postgres"),
        "-c",
        "show server_version",
    ]);
    let fallback = ExecRequest::new(["postgres", "--version"]);
    for request in [query, fallback] {
        match db.exec(&request) {
            Ok(out) if out.success() && !out.stdout_text().trim().is_empty() => {
                return Some(out.stdout_text().trim().to_owned());
            }
            Ok(out) => log::debug(format!(
                "`{}` exited {}: {}",
                request.command.join(" "),
                out.exit_code,
                out.stderr_text()
            )),
            Err(e) => log::debug(format!("`{}`: {e}", request.command.join(" "))),
        }
    }
    log::warn(format!(
        "could not read the server version in container `{}`",
        config.container
    ));
    None
}
