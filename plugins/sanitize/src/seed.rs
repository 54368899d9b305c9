//! `mode = "seed"`: restore a sanitized snapshot into a dev database,
//! replacing it. A snapshot is restored only when its manifest is there,
//! carries a MAC that verifies under the masking key, and matches the file
//! byte for byte: an unsanitized dump copied into the snapshot directory is
//! refused, with or without a manifest edited to match it.

use run_plugin_sdk::containers::{self, Container, ContainerState, ExecRequest};
use run_plugin_sdk::{Context, Error, log, prompt};

use crate::config::Config;
use crate::manifest;

pub fn run(ctx: &Context, config: &Config) -> Result<(), Error> {
    let (container, database) = config.target.clone().expect("seed mode has a target");
    let data = config.path(&config.file());
    let key = crate::snapshot::key(config)?;
    let manifest = manifest::verify(
        &data,
        &manifest::Key {
            env: &config.key_env,
            value: &key,
        },
    )?;
    log::info(format!(
        "{data}: sanitized from {} (policy {}, key id {}), MAC and sha256 verified",
        manifest.source,
        &manifest.policy_digest[..12],
        manifest.key_id
    ));
    let db = containers::open(&container)?;
    let details = db.inspect()?;
    if details.state != ContainerState::Running {
        return Err(Error::failed(format!(
            "container `{container}` is {}; start it to seed it",
            details.state
        )));
    }
    if ctx.is_plan() {
        println!("would replace database `{database}` in container `{container}` with {data}");
        return Ok(());
    }
    let question = format!("Replace database `{database}` in {container} with {data}?");
    if !prompt::confirm(&question, None)? {
        return Err(Error::failed(format!(
            "not seeding: declined; database `{database}` in container `{container}` is unchanged"
        )));
    }
    let ident = quoted_identifier(&database);
    psql(
        &db,
        ExecRequest::new([
            "psql",
            "-U",
            &config.user,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-d",
            "postgres",
            "-c",
            &format!("DROP DATABASE IF EXISTS {ident} WITH (FORCE)"),
            "-c",
            &format!("CREATE DATABASE {ident}"),
        ]),
        "recreating the database",
    )?;
    psql(
        &db,
        ExecRequest::new([
            "psql",
            "-U",
            &config.user,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-d",
            &database,
        ])
        .stdin_file(data.clone()),
        "restoring the snapshot",
    )?;
    let rows: u64 = manifest.tables.iter().map(|t| t.rows_after).sum();
    println!(
        "seeded database `{database}` in container `{container}` from {data} ({rows} rows, key id {})",
        manifest.key_id
    );
    Ok(())
}

fn psql(container: &Container, request: ExecRequest, what: &str) -> Result<(), Error> {
    container.exec_ok(
        &request,
        &format!("{what} in container `{}`", container.name()),
    )?;
    Ok(())
}

/// `name` as a quoted SQL identifier.
fn quoted_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
