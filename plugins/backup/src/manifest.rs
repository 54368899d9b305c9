//! Manifests: the JSON file beside every backup that says what it is and how
//! to check it. A backup exists only through its manifest, and a manifest is
//! trusted only while its file exists with the recorded size and sha256.
//!
//! Writing order (see [`commit`]): data into `.FILE.partial`, the manifest
//! into `.FILE.json.tmp`, fsync both, rename the manifest into place, then
//! rename the data. A crash at any point leaves either dot files (removed by
//! [`recover_interrupted`]) or a manifest whose file is missing (ignored and
//! cleaned up); never a complete-looking backup without a manifest.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};

use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::{Access, Context, Error, log};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;

pub const SCHEMA: &str = "run.backup/v1";

/// Files are read in chunks of this size to verify them: the dump never has
/// to fit in plugin memory.
const CHUNK: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// SQL from pg_dumpall or pg_dump, zstd-compressed.
    Dump,
    /// A volume's contents as a zstd-compressed tar stream.
    Snapshot,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub kind: Kind,
    /// The data file's name, relative to the manifest's directory.
    pub file: String,
    /// The config `name` the backup was taken under (several containers may
    /// share a directory).
    pub name: String,
    pub created_at: String,
    pub container: String,
    pub image: String,
    /// What produced the data (the command run in the container, or the
    /// volume call).
    pub command: Vec<String>,
    /// A dump of one database (`databases` in the config); absent for pg_dumpall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The volume a snapshot holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The file's size on disk.
    pub bytes: u64,
    /// The data's size before compression, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_bytes: Option<u64>,
    /// The sha256 of the file on disk, lowercase hex.
    pub sha256: String,
    pub compression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Pinned backups (taken as a hook before another task) are never
    /// removed by retention.
    pub pinned: bool,
    #[serde(default)]
    pub hook_for: Option<String>,
}

impl Manifest {
    /// Which run of backups this one belongs to for retention and `--latest`:
    /// one series per database or volume (or the whole cluster).
    pub fn series(&self) -> Option<&str> {
        self.database.as_deref().or(self.volume.as_deref())
    }
}

/// A trusted backup: a manifest whose file exists.
#[derive(Debug, Clone)]
pub struct Entry {
    pub manifest: Manifest,
    pub created: Timestamp,
    /// The file's size when listed, to spot truncation without hashing.
    pub size_on_disk: Option<u64>,
}

impl Entry {
    pub fn file(&self) -> &str {
        &self.manifest.file
    }

    /// "pg-demo_20261122T203000Z.sql.zst (3 hours ago, 12.4 MiB)".
    pub fn label(&self, now: Timestamp) -> String {
        let pinned = if self.manifest.pinned { ", pinned" } else { "" };
        format!(
            "{} ({}, {}{pinned})",
            self.manifest.file,
            self.created.age(now),
            human_size(self.manifest.bytes)
        )
    }
}

/// The backups of `kind` under the config's name in its directory, newest
/// first. A missing directory has none (it is not created under --dry-run).
pub fn list(config: &Config, kind: Kind) -> Result<Vec<Entry>, Error> {
    let dir = &config.dir;
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        // Under WASI an ungranted directory is missing too; callers that
        // find nothing say which grant the directory needs.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, Access::Read, e)),
    };
    let mut entries = Vec::new();
    for item in read {
        let item = item.map_err(|e| Error::io(dir, Access::Read, e))?;
        let file_name = item.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') || !file_name.ends_with(".json") {
            continue;
        }
        let path = config.path(&file_name);
        let manifest = match read_manifest(&path) {
            Ok(m) => m,
            Err(why) => {
                log::warn(format!("ignoring {path}: {why}"));
                continue;
            }
        };
        if manifest.name != config.name || manifest.kind != kind {
            continue;
        }
        if format!("{}.json", manifest.file) != file_name {
            log::warn(format!(
                "ignoring {path}: it describes `{}`, not the file it is named after",
                manifest.file
            ));
            continue;
        }
        let Some(created) = Timestamp::parse_rfc3339(&manifest.created_at) else {
            log::warn(format!(
                "ignoring {path}: created_at `{}` is not an RFC 3339 UTC time",
                manifest.created_at
            ));
            continue;
        };
        let size_on_disk = match fs::metadata(config.path(&manifest.file)) {
            Ok(meta) if meta.is_file() => meta.len(),
            _ => {
                log::warn(format!(
                    "ignoring {path}: its file {} is missing",
                    config.path(&manifest.file)
                ));
                continue;
            }
        };
        entries.push(Entry {
            manifest,
            created,
            size_on_disk: Some(size_on_disk),
        });
    }
    entries.sort_by(|a, b| (b.created, &b.manifest.file).cmp(&(a.created, &a.manifest.file)));
    Ok(entries)
}

fn read_manifest(path: &str) -> Result<Manifest, String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("not a backup manifest: {e}"))?;
    if manifest.schema != SCHEMA {
        return Err(format!("schema `{}` is not {SCHEMA}", manifest.schema));
    }
    if manifest.file.contains('/') || manifest.file.starts_with('.') {
        return Err(format!("file `{}` is not a plain file name", manifest.file));
    }
    Ok(manifest)
}

/// Checks the entry's file against its manifest, streaming it through sha256.
pub fn verify(config: &Config, entry: &Entry) -> Result<(), Error> {
    let path = config.path(entry.file());
    let mut file = File::open(&path).map_err(|e| Error::io(&path, Access::Read, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; CHUNK];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| Error::io(&path, Access::Read, e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buffer[..n]);
    }
    let actual = hex(&hasher.finalize());
    if actual != entry.manifest.sha256.to_ascii_lowercase() || bytes != entry.manifest.bytes {
        return Err(Error::failed(format!(
            "backup {} is corrupted: sha256 {actual} ({bytes} bytes), expected {} ({} bytes) from its manifest; refusing to restore it",
            entry.file(),
            entry.manifest.sha256,
            entry.manifest.bytes
        )));
    }
    log::debug(format!("{path}: sha256 {actual} matches its manifest"));
    Ok(())
}

/// Publishes a finished backup: `partial` (in the config's directory) becomes
/// `manifest.file` once the manifest is durably in place. On failure nothing
/// of this backup is left.
pub fn commit(config: &Config, partial: &str, manifest: &Manifest) -> Result<(), Error> {
    let final_path = config.path(&manifest.file);
    let manifest_path = format!("{final_path}.json");
    let tmp = config.path(&format!(".{}.json.tmp", manifest.file));
    let result = (|| {
        // The host wrote the data; make sure it is on disk before a manifest
        // vouches for it.
        sync(partial)?;
        let mut text = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
        text.push('\n');
        // Errors name the manifest being written, not its temporary name;
        // a full disk is named as such (see the SDK's `file`).
        run_plugin_sdk::file::write_synced(&tmp, text.as_bytes())
            .map_err(|e| Error::io(&manifest_path, Access::Write, e))?;
        fs::rename(&tmp, &manifest_path)
            .map_err(|e| Error::io(&manifest_path, Access::Write, e))?;
        fs::rename(partial, &final_path).map_err(|e| {
            // A manifest without its file is ignored, but it should not linger.
            let _ = fs::remove_file(&manifest_path);
            Error::io(&final_path, Access::Write, e)
        })
    })();
    if result.is_err() {
        remove_quietly(&tmp);
        remove_quietly(partial);
    }
    result
}

fn sync(path: &str) -> Result<(), Error> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, Access::Write, e))
}

/// Removes a file that may not exist, for cleaning up after a failure.
pub fn remove_quietly(path: &str) {
    match fs::remove_file(path) {
        Ok(()) => log::debug(format!("removed {path}")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => log::warn(format!("could not remove {path}: {e}")),
    }
}

/// Cleans up after a run that was killed: removes this name's `.partial` and
/// `.tmp` files, the host's temporary files for them (`.part`), and
/// manifests whose file never got its final name. Only this
/// name's files are touched, so backups of other containers sharing the
/// directory are left alone. Under --dry-run it only reports.
pub fn recover_interrupted(ctx: &Context, config: &Config) -> Result<(), Error> {
    let dir = &config.dir;
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, Access::Read, e)),
    };
    let ours = |file: &str| {
        file.strip_prefix(&config.name)
            .is_some_and(|rest| rest.starts_with(['_', '-']))
    };
    let mut stale = Vec::new();
    for item in read {
        let item = item.map_err(|e| Error::io(dir, Access::Read, e))?;
        let file = item.file_name().to_string_lossy().into_owned();
        if let Some(hidden) = file.strip_prefix('.') {
            // The host writes each of them under a temporary name of its own,
            // `.` + the file's name + `.PID-N.part`, until it is complete.
            let host_temp = hidden
                .strip_prefix('.')
                .filter(|name| ours(name) && file.ends_with(".part"));
            if host_temp.is_some()
                || (ours(hidden) && (file.ends_with(".partial") || file.ends_with(".tmp")))
            {
                stale.push(file);
            }
        } else if let Some(data) = file.strip_suffix(".json")
            && ours(&file)
            && fs::metadata(config.path(data)).is_err()
            && read_manifest(&config.path(&file)).is_ok_and(|m| m.file == data)
        {
            stale.push(file);
        }
    }
    stale.sort();
    for file in stale {
        let path = config.path(&file);
        if ctx.is_plan() {
            log::info(format!("would remove {path}, left by an interrupted run"));
            continue;
        }
        fs::remove_file(&path).map_err(|e| Error::io(&path, Access::Write, e))?;
        log::info(format!("removed {path}, left by an interrupted run"));
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::{hex, human_size};

    #[test]
    fn sizes_and_hex() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
