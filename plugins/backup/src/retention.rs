//! Retention: after a successful backup, keep the newest `keep` backups of
//! each series it belongs to and remove older ones, never the newest good
//! one and never a pinned one.

use std::fs;

use run_plugin_sdk::{Access, Context, Error, log};

use crate::config::Config;
use crate::manifest::{self, Entry, Kind};

/// Applies retention to the given series (a database, a volume, or `None`
/// for the whole cluster). `pending` is how many new backups per series a
/// dry run would have added: they count toward `keep` without existing yet.
pub fn apply(
    ctx: &Context,
    config: &Config,
    kind: Kind,
    series: &[Option<String>],
    pending: usize,
) -> Result<(), Error> {
    let entries = manifest::list(config, kind)?;
    for one in series {
        let in_series: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.manifest.series() == one.as_deref())
            .collect();
        for entry in doomed(&in_series, config.keep, pending) {
            remove(ctx, config, entry)?;
        }
    }
    Ok(())
}

/// Which of `entries` (newest first) to remove. Pinned backups neither count
/// toward `keep` nor are removed: safety copies taken before risky tasks
/// must not push out the regular ones, nor be pushed out by them.
fn doomed<'a>(entries: &[&'a Entry], keep: usize, pending: usize) -> Vec<&'a Entry> {
    // The newest backup whose file still has its recorded size stays, whatever
    // `keep` says (without a pending one, it is the only copy we know is good).
    let newest_good = (pending == 0)
        .then(|| entries.iter().find(|e| size_matches(e)))
        .flatten()
        .map(|e| e.manifest.file.clone());
    let keep = keep.saturating_sub(pending);
    entries
        .iter()
        .filter(|e| !e.manifest.pinned)
        .skip(keep)
        .filter(|e| Some(&e.manifest.file) != newest_good.as_ref())
        .copied()
        .collect()
}

fn size_matches(entry: &Entry) -> bool {
    entry.size_on_disk == Some(entry.manifest.bytes)
}

fn remove(ctx: &Context, config: &Config, entry: &Entry) -> Result<(), Error> {
    let path = config.path(entry.file());
    let when = &entry.manifest.created_at;
    if ctx.is_plan() {
        log::info(format!(
            "would remove {path} (created {when}): more than keep = {} backups",
            config.keep
        ));
        return Ok(());
    }
    // The data first: an interrupted removal leaves a manifest without its
    // file, which is ignored and cleaned up, never a file without a manifest.
    fs::remove_file(&path).map_err(|e| Error::io(&path, Access::Write, e))?;
    let manifest_path = format!("{path}.json");
    fs::remove_file(&manifest_path).map_err(|e| Error::io(&manifest_path, Access::Write, e))?;
    log::info(format!(
        "removed {path} (created {when}): more than keep = {} backups",
        config.keep
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::doomed;
    use crate::manifest::{Entry, Kind, Manifest, SCHEMA};
    use run_plugin_sdk::time::Timestamp;

    fn entry(file: &str, pinned: bool, size_ok: bool) -> Entry {
        Entry {
            manifest: Manifest {
                schema: SCHEMA.into(),
                kind: Kind::Dump,
                file: file.into(),
                name: "db".into(),
                created_at: String::new(),
                container: "db".into(),
                image: "postgres".into(),
                command: Vec::new(),
                database: None,
                volume: None,
                server_version: None,
                bytes: 10,
                uncompressed_bytes: None,
                sha256: String::new(),
                compression: "zstd".into(),
                exit_code: Some(0),
                pinned,
                hook_for: None,
            },
            created: Timestamp::from_millis(0),
            size_on_disk: Some(if size_ok { 10 } else { 3 }),
        }
    }

    fn names(doomed: Vec<&Entry>) -> Vec<&str> {
        doomed.into_iter().map(|e| e.file()).collect()
    }

    #[test]
    fn keeps_the_newest_and_every_pinned_one() {
        let all = [
            entry("e", false, true),
            entry("d", true, true),
            entry("c", false, true),
            entry("b", false, true),
            entry("a", true, true),
        ];
        let refs: Vec<&Entry> = all.iter().collect();
        assert_eq!(names(doomed(&refs, 2, 0)), ["b"]);
        assert_eq!(names(doomed(&refs, 1, 0)), ["c", "b"]);
        // A dry run that would add one more leaves room for it.
        assert_eq!(names(doomed(&refs, 2, 1)), ["c", "b"]);
    }

    #[test]
    fn never_removes_the_newest_good_backup() {
        let all = [
            entry("c", false, false),
            entry("b", false, true),
            entry("a", false, true),
        ];
        let refs: Vec<&Entry> = all.iter().collect();
        assert_eq!(names(doomed(&refs, 1, 0)), ["a"]);
    }
}
