//! What a scan task reaches, from its config and arguments alone (the runner
//! checks it before the task runs): the advisories, archives, root
//! filesystems, Compose files and ignore file it reads, the cache and report directories it
//! writes, and the containers its `containers` filter names.
//!
//! Images named on the command line are not declared: an image is reachable
//! through `allow.images` or through a granted container that uses it, which
//! only the host can tell.

use run_plugin_sdk::names::dir_of;
use run_plugin_sdk::{Error, Grant};

use crate::config::{Config, Target};

pub fn of(config: &Config) -> Result<Vec<Grant>, Error> {
    let mut needs: Vec<Grant> = Vec::new();
    let mut add = |grant: Grant| {
        if !needs.contains(&grant) {
            needs.push(grant);
        }
    };
    for advisories in &config.advisories {
        add(Grant::read(advisory_dir(advisories)));
    }
    if let Some(file) = &config.ignore_file {
        add(Grant::read(dir_of(file)));
    }
    let mut engine = config.targets.is_empty() || config.hardening;
    for target in &config.targets {
        match target {
            Target::Archive(file) | Target::Compose(file) => add(Grant::read(dir_of(file))),
            Target::Rootfs(dir) => add(Grant::read(dir.trim_end_matches('/'))),
            Target::Image(_) => engine = true,
        }
    }
    if let Some(cache) = &config.cache {
        add(Grant::write(cache));
    }
    // Fetching needs the sources' URL prefixes (all of them: which OS an
    // image has is known only once it is read); a mirror directory or
    // --offline needs none.
    if config.fetch {
        match &config.mirror_dir {
            Some(dir) => add(Grant::read(dir)),
            None if !config.offline => {
                for prefix in config.mirrors.prefixes() {
                    add(Grant::http(prefix));
                }
            }
            None => {}
        }
    }
    if let Some((file, _)) = &config.output {
        add(Grant::write(dir_of(file)));
    }
    // `*` (every granted container) and labels or projects need no grant of
    // their own; a name or glob is granted as written.
    let filter = config.containers.as_str();
    if engine && filter != "*" && !filter.starts_with("label=") && !filter.starts_with("project=") {
        add(Grant::containers(filter));
    }
    Ok(needs)
}

/// An advisory entry is a directory, or a file (an OSV zip, a secdb YAML) in
/// one: a file is granted by its directory.
fn advisory_dir(entry: &str) -> String {
    let entry = entry.trim_end_matches('/');
    let name = entry.rsplit('/').next().unwrap_or(entry);
    let is_file = [".json", ".zip", ".yaml", ".yml", ".gz", ".zst", ".txt"]
        .iter()
        .any(|ext| name.ends_with(ext));
    if is_file {
        dir_of(entry)
    } else {
        entry.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, Grant};

    use super::of;
    use crate::config::Config;

    fn needs(args: &[&str], json: &str) -> Vec<Grant> {
        let args = args.iter().map(|a| a.to_string()).collect();
        of(&Config::from_context(&Context::new("scan", args, json)).unwrap()).unwrap()
    }

    #[test]
    fn the_stack_scan_needs_its_containers_advisories_and_cache() {
        assert_eq!(
            needs(
                &[],
                r#"{"advisories": ["advisories", "osv/Debian.zip"], "cache": ".run/scan/",
                    "containers": "pg-demo", "output": "reports/scan.json"}"#
            ),
            [
                Grant::read("advisories"),
                Grant::read("osv"),
                Grant::write(".run/scan"),
                Grant::write("reports"),
                Grant::containers("pg-demo")
            ]
        );
    }

    #[test]
    fn offline_inputs_need_only_what_they_read_and_write() {
        assert_eq!(
            needs(
                &[
                    "--input",
                    "images/app.tar",
                    "--rootfs",
                    "rootfs/",
                    "--output",
                    "out.sarif"
                ],
                r#"{"advisories": "secdb/main.yaml", "ignore-file": "policy/ignore.toml"}"#
            ),
            [
                Grant::read("secdb"),
                Grant::read("policy"),
                Grant::read("images"),
                Grant::read("rootfs"),
                Grant::write(".")
            ]
        );
        // Every granted container (the default filter) needs no grant of its own.
        assert_eq!(needs(&[], r#"{"advisories": "a"}"#), [Grant::read("a")]);
    }

    #[test]
    fn fetching_needs_the_sources_prefixes_and_nothing_offline() {
        assert_eq!(
            needs(&[], r#"{"cache": ".run/scan"}"#),
            [
                Grant::write(".run/scan"),
                Grant::http("https://osv-vulnerabilities.storage.googleapis.com/"),
                Grant::http("https://security-tracker.debian.org/tracker/data/json"),
                Grant::http("https://secdb.alpinelinux.org/"),
            ]
        );
        assert_eq!(
            needs(&["--offline"], r#"{"cache": ".run/scan"}"#),
            [Grant::write(".run/scan")]
        );
        assert_eq!(
            needs(
                &[],
                r#"{"mirror-dir": "mirror/", "mirrors": {"osv": "https://m.example/osv"}}"#
            ),
            [Grant::read("mirror")]
        );
        assert_eq!(
            needs(
                &[],
                r#"{"cache": "c", "mirrors": {"osv": "https://m.example/osv"}}"#
            )[1],
            Grant::http("https://m.example/osv/")
        );
    }
}
