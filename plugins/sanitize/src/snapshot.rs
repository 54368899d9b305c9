//! `mode = "sanitize"`: take the dump (pg_dump through the engine, or a
//! file), run the engine over it, and publish the result with its manifest.
//!
//! Nothing is written at the output path until the whole output is written,
//! synced and described: the engine writes through the host's `files`
//! interface, which keeps the output under a hidden temporary name until it
//! is committed (removed on any failure) and computes its SHA-256 while
//! writing it, for the manifest. The raw dump taken from the container lives
//! in `.NAME.dump.partial` only while the run lasts.

use std::fs;
use std::io;

use run_plugin_sdk::containers::{self, ContainerState, ExecRequest};
use run_plugin_sdk::file::{NewFile, ReadFile};
use run_plugin_sdk::{Access, Context, Error, Grant, log};

use crate::config::{Config, PolicySource, Source};
use crate::engine::{self, COMPLETE_MARKER, Policy};
use crate::input::HostDump;
use crate::manifest::{self, Manifest, SampleInfo, TableCounts};

/// The environment variable that must be `1` to run (or pass --sanitized).
pub const GUARD_ENV: &str = "SANITIZED";
/// The exit code of a run refused by the guard: distinct from `run`'s own
/// codes, so scripts can tell "not confirmed" from "failed".
pub const GUARD_EXIT_CODE: u8 = 3;
/// The shortest key accepted: a short key can be guessed, and then every
/// masked value can be confirmed.
const MIN_KEY_LEN: usize = 16;

pub fn run(ctx: &Context, config: &Config) -> Result<(), Error> {
    let policy = load_policy(ctx, config)?;
    let source = config.source.clone().expect("sanitize mode has a source");
    let output = config.path(&config.file());
    // Where the output was written before the host did it (removed if a
    // run of an older version left it).
    let partial = config.path(&format!(".{}.partial", config.file()));
    let raw = config.path(&format!(".{}.dump.partial", config.name));
    if ctx.is_plan() {
        let from = match &source {
            Source::Container {
                container,
                database,
            } => format!("dump database `{database}` of container `{container}`"),
            Source::File(path) => format!("read {path}"),
        };
        let sampling = policy.sample.as_ref().map_or_else(String::new, |s| {
            format!(
                ", keeping {}% of {}",
                s.fraction * 100.0,
                roots(s).join(", ")
            )
        });
        println!(
            "would {from}, mask {} columns{sampling}, and write {output} with {}",
            policy
                .columns
                .iter()
                .filter(|r| r.rule != engine::Rule::Keep)
                .count(),
            manifest::path_for(&output)
        );
        return Ok(());
    }
    guard(ctx)?;
    let key = key(config)?;
    for stale in [
        &partial,
        &raw,
        &format!("{}.tmp", manifest::path_for(&output)),
    ] {
        manifest::remove_quietly(stale);
    }
    match fs::create_dir_all(&config.dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(&config.dir, Access::Write, e)),
    }

    let (dump_path, described) = match &source {
        Source::Container {
            container,
            database,
        } => {
            if let Err(e) = pg_dump(config, container, database, &raw) {
                manifest::remove_quietly(&raw);
                return Err(e);
            }
            (
                raw.clone(),
                format!("database `{database}` of container `{container}`"),
            )
        }
        Source::File(path) => {
            if path.ends_with(".zst") || path.ends_with(".gz") {
                return Err(Error::unsupported(format!(
                    "{path} is compressed; sanitize reads plain-format pg_dump files (decompress it first, e.g. `zstd -d {path}`)"
                )));
            }
            (path.clone(), path.clone())
        }
    };

    let result = write(config, &policy, &key, &dump_path, &described, &output);
    manifest::remove_quietly(&raw);
    let manifest = result?;
    let before: u64 = manifest.tables.iter().map(|t| t.rows_before).sum();
    let after: u64 = manifest.tables.iter().map(|t| t.rows_after).sum();
    for t in &manifest.tables {
        log::info(format!(
            "{}: {} of {} rows",
            t.table, t.rows_after, t.rows_before
        ));
    }
    println!(
        "sanitized {described} into {output}: {} columns masked, {after} of {before} rows in {} tables (key id {})",
        manifest.masked.len(),
        manifest.tables.len(),
        manifest.key_id
    );
    Ok(())
}

/// Refuses unless the person said this run is meant: `SANITIZED=1` in the
/// task's environment, or `--sanitized`.
fn guard(ctx: &Context) -> Result<(), Error> {
    if ctx.flag("sanitized") || std::env::var(GUARD_ENV).is_ok_and(|v| v == "1") {
        return Ok(());
    }
    Err(Error::failed(format!(
        "refusing to run task `{}`: it reads real data; set {GUARD_ENV}=1 (granted with allow.env = [\"{GUARD_ENV}\"]) or pass --sanitized to confirm",
        ctx.task()
    ))
    .with_exit_code(GUARD_EXIT_CODE))
}

fn load_policy(ctx: &Context, config: &Config) -> Result<Policy, Error> {
    let policy = match config.policy.as_ref().expect("sanitize mode has a policy") {
        PolicySource::File(path) => {
            let text = fs::read_to_string(path).map_err(|e| Error::io(path, Access::Read, e))?;
            Policy::from_toml(path, &text)
        }
        PolicySource::Inline(value) => Policy::from_json(ctx.task(), value),
    };
    policy.map_err(|e| Error::invalid_input(e.to_string()))
}

/// The masking key from the task's `key_env`; seeding reads it too, to
/// check the manifest's MAC.
pub fn key(config: &Config) -> Result<Vec<u8>, Error> {
    let name = &config.key_env;
    match std::env::var(name) {
        Ok(key) if key.len() >= MIN_KEY_LEN => Ok(key.into_bytes()),
        Ok(_) => Err(Error::invalid_input(format!(
            "the masking key in {name} is too short: use at least {MIN_KEY_LEN} characters (e.g. `openssl rand -hex 32`)"
        ))),
        Err(_) => Err(Error::denied_grant(
            format!(
                "the masking key: environment variable {name} is not set, or not granted to this task"
            ),
            Grant::env(name),
        )),
    }
}

fn roots(sample: &engine::policy::Sample) -> Vec<String> {
    sample.roots.iter().map(|(t, _)| t.to_string()).collect()
}

/// pg_dump of one database, streamed by the host into `raw`.
fn pg_dump(config: &Config, container: &str, database: &str, raw: &str) -> Result<(), Error> {
    let source = containers::open(container)?;
    let details = source.inspect()?;
    if details.state != ContainerState::Running {
        return Err(Error::failed(format!(
            "container `{container}` is {}; start it to dump it",
            details.state
        )));
    }
    // No owners or grants: the snapshot restores into any dev database,
    // whatever roles it has.
    let command = vec![
        "pg_dump".to_owned(),
        "-U".into(),
        config.user.clone(),
        "--no-owner".into(),
        "--no-privileges".into(),
        format!("--dbname={database}"),
    ];
    log::info(format!(
        "running `{}` in container `{container}`",
        command.join(" ")
    ));
    let result = source.exec_ok(
        &ExecRequest::new(command).stdout_file(raw),
        &format!("dumping container `{container}`"),
    )?;
    if !String::from_utf8_lossy(&result.stdout_tail).contains(COMPLETE_MARKER) {
        return Err(Error::failed(format!(
            "the dump of container `{container}` is truncated: pg_dump exited 0 after {} bytes without `{COMPLETE_MARKER}`",
            result.stdout_bytes
        )));
    }
    Ok(())
}

/// Runs the engine from `dump` into a new file for `output`, then publishes
/// it with its manifest. The new file is removed if anything fails.
fn write(
    config: &Config,
    policy: &Policy,
    key: &[u8],
    dump: &str,
    described: &str,
    output: &str,
) -> Result<Manifest, Error> {
    let mut out = NewFile::create(output)?;
    log::info(format!("sanitizing {dump}"));
    // Read by the host, ahead of the engine, in large pieces (WASI reads
    // are of 64 KiB, each a round trip to a thread of the host's), straight
    // into the engine's own 1 MiB line buffer; COPY blocks the engine
    // passes over are searched by the host.
    let open = || {
        ReadFile::open(dump)
            .map(HostDump)
            .map_err(|e| engine::Error::Read(e.message().to_owned()))
    };
    // The first refusal (not granted, a symlink, missing) as the SDK names it.
    drop(ReadFile::open(dump)?);
    let report = engine::sanitize(open, &mut out, policy, key).map_err(|e| match e {
        engine::Error::Policy { .. } | engine::Error::Plan(_) => {
            Error::invalid_input(e.to_string())
        }
        engine::Error::Truncated { .. }
        | engine::Error::Syntax { .. }
        | engine::Error::Unsupported { .. }
        | engine::Error::Incomplete => Error::failed(format!("{dump}: {e}")),
        engine::Error::Write(why) => Error::failed(format!("writing {output}: {why}")),
        other => Error::failed(other.to_string()),
    })?;
    // Synced; the size and digest are the host's, of the bytes it wrote.
    let written = out.finish()?;
    let mut manifest = Manifest {
        schema: manifest::SCHEMA.into(),
        file: config.file(),
        created_at: manifest::now_rfc3339(),
        source: described.to_owned(),
        policy_digest: report.policy_digest,
        key_id: report.key_id,
        key_env: config.key_env.clone(),
        masked: report.masked,
        sample: policy.sample.as_ref().map(|s| SampleInfo {
            fraction: s.fraction,
            roots: roots(s),
        }),
        tables: report
            .tables
            .iter()
            .map(|(t, before, after)| TableCounts {
                table: t.to_string(),
                rows_before: *before,
                rows_after: *after,
            })
            .collect(),
        bytes: written.bytes,
        sha256: written.sha256,
        mac: String::new(),
    };
    manifest.sign(&engine::mask::Masker::new(key));
    manifest::commit(out, output, &manifest)?;
    Ok(manifest)
}
