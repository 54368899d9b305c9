//! One run: compile or load the advisory database, gather the targets'
//! inventories, match, audit, apply the policy, write the reports, and set
//! the exit code.

use std::fs;
use std::path::Path;
use std::time::Instant;

use run_plugin_sdk::images::{self, Compression};
use run_plugin_sdk::{Access, Context, Error, log};
use run_plugin_sdk::{containers, stacks};

use crate::advisory::database::{Database, FORMAT_VERSION};
use crate::advisory::load;
use crate::config::{Config, Target};
use crate::finding::Finding;
use crate::image::layer_cache::{self, LayerCache};
use crate::image::{Inventory, archive, rootfs};
use crate::policy::{Ignores, parse_ignores};
use crate::report::{Audited, Report};
use crate::{date, feed, hardening, matcher};

/// The exit code of "no usable advisory data" (fail closed), distinct from
/// the gate's (`exit-code`, default [`crate::config::GATE_EXIT`]) and from
/// `run`'s own 1 (a broken or misconfigured scan) and 2 (usage).
pub const NO_DATA_EXIT: u8 = 4;

fn no_data(message: String) -> Error {
    Error::failed(format!("no usable advisory data: {message}")).with_exit_code(NO_DATA_EXIT)
}

pub fn run(ctx: &Context, config: &Config) -> Result<(), Error> {
    let task = ctx.task();
    let (compose, mut targets): (Vec<&Target>, Vec<&Target>) = config
        .targets
        .iter()
        .partition(|t| matches!(t, Target::Compose(_)));
    let stack;
    if config.targets.is_empty() {
        stack = stack_images(config)?;
        targets = stack.iter().collect();
    }
    let mut warnings = Vec::new();
    let mut inventories = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut data = None;
    if !targets.is_empty() {
        if !config.fetch && config.advisories.is_empty() {
            return Err(no_data(format!(
                "task `{task}` names no advisories and does not fetch them (fetch = false): set config.advisories to OSV, Alpine secdb or Debian tracker files or directories (and grant them in allow.read), or let it fetch"
            )));
        }
        for target in targets {
            inventories.extend(inventory(ctx, config, target)?);
        }
        let now = feed::now();
        let mut info = feed::DataInfo {
            now,
            sources: Vec::new(),
        };
        let mut prepared = feed::Prepared::default();
        if config.fetch {
            let sources = feed::needed(&config.mirrors, &inventories);
            prepared = feed::prepare(
                &sources,
                &feed::Options {
                    dir: config.cache.as_ref().map(|c| format!("{c}/sources")),
                    mirror_dir: config.mirror_dir.as_deref(),
                    offline: config.offline,
                    update: config.update,
                    refresh: config.refresh,
                    now,
                    plan: ctx.is_plan(),
                },
            )?;
            warnings.append(&mut prepared.warnings);
            if !prepared.missing.is_empty() {
                return Err(no_data(prepared.missing.join("; ")));
            }
            info.sources.append(&mut prepared.status);
            check_age(config, &info, &mut warnings)?;
        }
        info.sources.extend(feed::local_status(&config.advisories));
        let db = database(ctx, config, &mut prepared)?;
        let today = date::today();
        // Data read from files is as current as its newest record; fetched
        // data is as current as its last fetch (checked above).
        let record_max_age = if config.fetch {
            None
        } else {
            config.max_age.map(date::days_of_secs)
        };
        let mut missing = Vec::new();
        for inventory in &inventories {
            let mut matched = matcher::find(&db, inventory, today, record_max_age);
            if let Err(e @ matcher::NoData::Stale { .. }) = &matched
                && !config.max_age_fails
            {
                let w = e.to_string();
                log::warn(&w);
                warnings.push(w);
                matched = matcher::find(&db, inventory, today, None);
            }
            match matched {
                Ok(matched) => {
                    let stale = matched.stale.filter(|_| !config.fetch);
                    for w in matched.warning.into_iter().chain(stale) {
                        if !warnings.contains(&w) {
                            log::warn(&w);
                            warnings.push(w);
                        }
                    }
                    findings.extend(matched.findings);
                }
                Err(e) => missing.push(e.to_string()),
            }
        }
        // Fail closed: an image whose packages could not be checked never
        // passes, whatever else was found.
        if !missing.is_empty() {
            return Err(no_data(missing.join("; ")));
        }
        let unrated = findings
            .iter()
            .filter(|f| f.severity == crate::severity::Severity::Unknown)
            .count();
        if unrated > 0 && config.policy.fail_on.is_some() {
            let w = format!(
                "{unrated} finding{} no severity in the advisory data (UNKNOWN never fails --fail-on): add a source that rates them (osv.dev's records carry CVSS)",
                if unrated == 1 { " has" } else { "s have" }
            );
            log::warn(&w);
            warnings.push(w);
        }
        data = Some(info);
    }
    let mut audited = Vec::new();
    for target in compose {
        let Target::Compose(path) = target else {
            continue;
        };
        let text = fs::read_to_string(path).map_err(|e| Error::io(path, Access::Read, e))?;
        let services = hardening::compose::services(path, &text)
            .map_err(|e| Error::invalid_input(format!("Compose file {e}")))?;
        for service in services {
            let name = format!("{path}#{}", service.name);
            findings.extend(hardening::audit(&name, &service.settings));
            audited.push(Audited {
                target: name,
                kind: "compose-service",
            });
        }
    }
    if config.hardening {
        // Every state: a created or stopped container starts again with the
        // same settings.
        let mut podman: Option<bool> = None;
        for c in containers::list(config.containers.as_str())? {
            let name = c.name;
            let details = containers::open(&c.id)?.inspect()?;
            let settings = hardening::inspect::settings(&details.raw_json()?);
            findings.extend(hardening::audit(&name, &settings));
            // Podman 4.3 inspects every IPC mode, `--ipc host` too, as
            // `shareable`: there the rule cannot be checked, and says so.
            if settings.ipc_mode.as_ref().map(|m| m.value.as_str()) == Some("shareable")
                && *podman.get_or_insert_with(|| {
                    stacks::engine_info().is_ok_and(|facts| facts.product == "podman")
                })
            {
                warnings.push(format!(
                    "{name}: RUN-H017 (host IPC namespace) not checked: Podman inspects every IPC mode, `--ipc host` too, as `shareable`"
                ));
            }
            audited.push(Audited {
                target: name,
                kind: "container",
            });
        }
    }
    let today = date::today();
    let ignores = match &config.ignore_file {
        None => Ignores::default(),
        Some(path) => {
            let text = fs::read_to_string(path).map_err(|e| Error::io(path, Access::Read, e))?;
            parse_ignores(&text, today)
                .map_err(|e| Error::invalid_input(format!("ignore file {}", e.render(path))))?
        }
    };
    ignores.apply(&mut findings);
    for rule in &ignores.expired {
        log::warn(format!(
            "ignore entry for {} expired on {}: it no longer hides its finding",
            rule.id,
            rule.expires.as_deref().unwrap_or("?")
        ));
    }
    let report = Report {
        inventories: &inventories,
        audited: &audited,
        findings: &findings,
        policy: &config.policy,
        expired: &ignores.expired,
        warnings: &warnings,
        data: data.as_ref(),
    };
    // The full report file is written before the gate is applied: a failing
    // CI run still leaves the report to read.
    if let Some((path, format)) = &config.output {
        write_atomically(ctx, path, &report.render(*format, false))?;
    }
    print!("{}", report.render(config.format, use_color(config)));
    let failing = config.policy.failing(&findings);
    if let Some(level) = config.policy.fail_on.filter(|_| !failing.is_empty()) {
        return Err(Error::failed(format!(
            "{} finding{} at or above {level} (--fail-on {level})",
            failing.len(),
            if failing.len() == 1 { "" } else { "s" }
        ))
        .with_exit_code(config.exit_code));
    }
    Ok(())
}

fn use_color(config: &Config) -> bool {
    match config.color.as_str() {
        "always" => true,
        "never" => false,
        // The plugin cannot see whether stdout is a terminal; it sees TERM
        // and NO_COLOR only when the task passes them (env = [...]).
        _ => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").is_ok_and(|t| !t.is_empty() && t != "dumb")
        }
    }
}

/// Data fetched longer ago than `max-age` fails the scan (exit 4) or warns;
/// without a max-age, data a week old is named in a warning.
fn check_age(
    config: &Config,
    info: &feed::DataInfo,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let limit = config.max_age.unwrap_or(7 * 86_400);
    let mut stale = Vec::new();
    for source in &info.sources {
        let Some(as_of) = source.as_of() else {
            continue;
        };
        let age = info.now.saturating_sub(as_of);
        if age <= limit {
            continue;
        }
        let what = format!(
            "{}: the data was last confirmed current {}, {} ago",
            source.name,
            feed::timestamp(as_of),
            feed::human_age(age)
        );
        match config.max_age {
            Some(max) => stale.push(format!(
                "{what}, longer than max-age ({})",
                feed::human_age(max)
            )),
            None => stale.push(format!("{what} (set max-age to fail on old data)")),
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    if config.max_age.is_some() && config.max_age_fails {
        return Err(no_data(stale.join("; ")));
    }
    for w in stale {
        log::warn(&w);
        warnings.push(w);
    }
    Ok(())
}

/// The compiled database: from the cache when its inputs are unchanged,
/// otherwise compiled from the inputs (and cached when a cache is set).
fn database(
    ctx: &Context,
    config: &Config,
    prepared: &mut feed::Prepared,
) -> Result<Database, Error> {
    let started = Instant::now();
    let mut roots = config.advisories.clone();
    roots.extend(prepared.files.iter().cloned());
    let files = load::input_files(&roots).map_err(load_error)?;
    let digest = load::digest(&files, FORMAT_VERSION);
    let cache_file = config
        .cache
        .as_ref()
        .map(|dir| format!("{dir}/advisories-{}.db", &digest[..16]));
    if let Some(path) = &cache_file
        && let Ok(bytes) = fs::read(path)
    {
        match Database::from_bytes(&bytes) {
            Ok(db) => {
                log::debug(format!(
                    "advisories: {} from {path} in {:?}",
                    db.advisories.len(),
                    started.elapsed()
                ));
                return Ok(db);
            }
            Err(e) => log::warn(format!("{path}: unreadable cache ({e}); compiling again")),
        }
    }

    let db = Database::build(load::load_with(&files, &mut prepared.parsed).map_err(load_error)?);
    log::info(format!(
        "advisories: compiled {} from {} file{} in {:.1?}",
        db.advisories.len(),
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        started.elapsed()
    ));
    if let (Some(path), Some(dir), false) = (&cache_file, &config.cache, ctx.is_plan()) {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, Access::Write, e))?;
        db.save(Path::new(path))
            .map_err(|e| Error::io(path, Access::Write, e))?;
        // Older compiled databases are stale now.
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let own = Path::new(path)
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy() == name);
                if name.starts_with("advisories-") && name.ends_with(".db") && !own {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
    Ok(db)
}

fn load_error(e: load::LoadError) -> Error {
    match e {
        load::LoadError::Io { path, source } => Error::io(path, Access::Read, source),
        other => Error::invalid_input(other.to_string()),
    }
}

/// The distinct images of the stack's containers.
fn stack_images(config: &Config) -> Result<Vec<Target>, Error> {
    let mut images: Vec<String> = containers::list(config.containers.as_str())?
        .into_iter()
        .map(|c| c.image)
        .collect();
    images.sort();
    images.dedup();
    if images.is_empty() {
        return Err(Error::not_found(format!(
            "no containers match `{}` among the granted ones: name images, or use --input / --rootfs",
            config.containers
        )));
    }
    Ok(images.into_iter().map(Target::Image).collect())
}

fn inventory(ctx: &Context, config: &Config, target: &Target) -> Result<Vec<Inventory>, Error> {
    let started = Instant::now();
    let found = match target {
        // Audited, not inventoried (see `run`).
        Target::Compose(_) => Vec::new(),
        Target::Archive(path) => archive::read(Path::new(path), layer_cache(config).as_ref())
            .map_err(|e| archive_error(path, e))?,
        Target::Rootfs(dir) => {
            vec![rootfs::read(Path::new(dir)).map_err(|e| Error::io(dir, Access::Read, e))?]
        }
        Target::Image(image) => {
            let Some(cache) = &config.cache else {
                return Err(Error::invalid_input(format!(
                    "task `{}` scans image `{image}` but has no config.cache: the host exports the image into that directory (grant it in allow.write)",
                    ctx.task()
                )));
            };
            if ctx.is_plan() {
                log::info(format!("would export and scan image {image}"));
                return Ok(Vec::new());
            }
            // Every layer already in the cache (by the diff IDs the host's
            // inspect reports): no export at all.
            let layers = images::inspect(image)?.layers;
            let layers_cache = layer_cache(config);
            if let Some(cache) = &layers_cache
                && !layers.is_empty()
                && let Some(cached) = layer_cache::inventory(cache, image, &layers)
            {
                log::debug(format!("{image}: every layer from the layer cache"));
                return Ok(vec![cached]);
            }
            let dir = format!("{cache}/images");
            fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, Access::Write, e))?;
            let file = format!("{dir}/{}.tar", file_part(image));
            let progress = log::Progress::start(format!("exporting {image}"), None);
            let exported = images::export(image, &file, Compression::None);
            progress.finish(None);
            exported?;
            let result = archive::read(Path::new(&file), layers_cache.as_ref());
            // The export is as large as the image: never keep it.
            let _ = fs::remove_file(&file);
            let mut found = result.map_err(|e| archive_error(&file, e))?;
            for inventory in &mut found {
                inventory.target = image.clone();
            }
            found
        }
    };
    for i in &found {
        log::debug(format!(
            "{}: {} packages in {:.1?}",
            i.target,
            i.packages.len(),
            started.elapsed()
        ));
    }
    Ok(found)
}

/// The per-layer cache under the task's cache directory, if it has one.
fn layer_cache(config: &Config) -> Option<LayerCache> {
    config
        .cache
        .as_ref()
        .map(|dir| LayerCache::new(format!("{dir}/layers")))
}

fn archive_error(path: &str, e: archive::ArchiveError) -> Error {
    match e {
        archive::ArchiveError::Io { source, .. } => Error::io(path, Access::Read, source),
        other => Error::invalid_input(other.to_string()),
    }
}

fn file_part(image: &str) -> String {
    image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `text` to `path` through a temporary file, so a report is either
/// whole or absent.
fn write_atomically(ctx: &Context, path: &str, text: &str) -> Result<(), Error> {
    if ctx.is_plan() {
        log::info(format!("would write {path}"));
        return Ok(());
    }
    let p = Path::new(path);
    let tmp = match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => dir.join(format!(".{}.partial", name.to_string_lossy())),
        _ => {
            return Err(Error::invalid_input(format!(
                "--output {path}: not a file path"
            )));
        }
    };
    fs::write(&tmp, text).map_err(|e| Error::io(path, Access::Write, e))?;
    fs::rename(&tmp, p).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, Access::Write, e)
    })?;
    Ok(())
}
