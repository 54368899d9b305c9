//! The manifest beside every sanitized snapshot (`NAME.sql.manifest.json`):
//! what policy and key produced it (the key's id, never the key), the row
//! counts before and after sampling, and the file's size and sha256. A
//! snapshot is seeded only through a manifest that matches it.

use std::fs::{self, File};
use std::io::{self, Read, Write};

use run_plugin_sdk::{Access, Error, log};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::mask::hex;

pub const SCHEMA: &str = "run.sanitize/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: String,
    /// The snapshot's file name, in the manifest's directory.
    pub file: String,
    pub created_at: String,
    /// Where the original data came from.
    pub source: String,
    /// sha256 of the policy's rules and sampling settings.
    pub policy_digest: String,
    /// A public fingerprint of the masking key.
    pub key_id: String,
    /// The environment variable the key was read from.
    pub key_env: String,
    /// `schema.table.column` → rule, for every masked column.
    pub masked: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleInfo>,
    pub tables: Vec<TableCounts>,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleInfo {
    pub fraction: f64,
    pub roots: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableCounts {
    pub table: String,
    pub rows_before: u64,
    pub rows_after: u64,
}

/// `DIR/FILE.manifest.json`.
pub fn path_for(data: &str) -> String {
    format!("{data}.manifest.json")
}

/// A writer that hashes and counts what passes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the sha256 (lowercase hex).
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Publishes a finished snapshot: the manifest is written and synced under
/// a temporary name, then `partial` and the manifest are renamed into
/// place. A crash in between leaves a manifest that does not match its file,
/// which seeding refuses.
pub fn commit(partial: &str, data: &str, manifest: &Manifest) -> Result<(), Error> {
    let manifest_path = path_for(data);
    let tmp = format!("{manifest_path}.tmp");
    let result = (|| {
        let mut text = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
        text.push('\n');
        let mut file = File::create(&tmp).map_err(|e| Error::io(&tmp, Access::Write, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&tmp, Access::Write, e))?;
        drop(file);
        fs::rename(partial, data).map_err(|e| Error::io(data, Access::Write, e))?;
        fs::rename(&tmp, &manifest_path).map_err(|e| Error::io(&manifest_path, Access::Write, e))
    })();
    if result.is_err() {
        remove_quietly(&tmp);
        remove_quietly(partial);
    }
    result
}

/// Reads the manifest of `data` and checks the file against it.
pub fn verify(data: &str) -> Result<Manifest, Error> {
    let path = path_for(data);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound && fs::metadata(data).is_ok() => {
            return Err(Error::failed(format!(
                "refusing to seed from {data}: it has no manifest ({path}), so nothing says it was sanitized"
            )));
        }
        Err(e) => return Err(Error::io(&path, Access::Read, e)),
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::failed(format!(
            "refusing to seed from {data}: {path} is not a sanitize manifest: {e}"
        ))
    })?;
    let refuse = |why: String| Error::failed(format!("refusing to seed from {data}: {why}"));
    if manifest.schema != SCHEMA {
        return Err(refuse(format!(
            "its manifest's schema is `{}`, not {SCHEMA}",
            manifest.schema
        )));
    }
    let file_name = data.rsplit('/').next().unwrap_or(data);
    if manifest.file != file_name {
        return Err(refuse(format!(
            "its manifest describes `{}`",
            manifest.file
        )));
    }
    if manifest.key_id.len() != 16 || manifest.policy_digest.len() != 64 {
        return Err(refuse("its manifest has no key id or policy digest".into()));
    }
    let mut file = File::open(data).map_err(|e| Error::io(data, Access::Read, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| Error::io(data, Access::Read, e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buffer[..n]);
    }
    let actual = hex(&hasher.finalize());
    if actual != manifest.sha256 || bytes != manifest.bytes {
        return Err(refuse(format!(
            "it does not match its manifest (sha256 {actual}, {bytes} bytes; the manifest says {}, {} bytes)",
            manifest.sha256, manifest.bytes
        )));
    }
    Ok(manifest)
}

/// Removes a file that may not exist, for cleaning up after a failure.
pub fn remove_quietly(path: &str) {
    match fs::remove_file(path) {
        Ok(()) => log::debug(format!("removed {path}")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => log::warn(format!("could not remove {path}: {e}")),
    }
}

/// Now as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let day = secs.div_euclid(86_400);
    let time = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::engine::date::format(day).unwrap_or_else(|| "1970-01-01".into()),
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{Hashing, now_rfc3339, path_for};

    #[test]
    fn the_writer_hashes_what_it_writes() {
        let mut w = Hashing::new(Vec::new());
        w.write_all(b"abc").unwrap();
        let (inner, bytes, sha) = w.finish();
        assert_eq!((inner.as_slice(), bytes), (&b"abc"[..], 3));
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_and_times() {
        assert_eq!(path_for("s/demo.sql"), "s/demo.sql.manifest.json");
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }
}
