//! The manifest beside every sanitized snapshot (`NAME.sql.manifest.json`):
//! what policy and key produced it (the key's id, never the key), the row
//! counts before and after sampling, the file's size and sha256, and a MAC
//! over all of that under the masking key. A snapshot is seeded only through
//! a manifest whose MAC verifies under the key and whose file matches it: a
//! manifest copied beside a raw dump and edited to match it cannot be made
//! without the key.

use std::fs::{self, File};
use std::io::{self, Read};

use run_plugin_sdk::file::NewFile;
use run_plugin_sdk::{Access, Error, log};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::mask::{Masker, hex};

/// v2: v1 plus `mac`.
pub const SCHEMA: &str = "run.sanitize/v2";

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
    /// Keyed BLAKE3 under the masking key of every field above (see
    /// [`Manifest::canonical`]), in hex.
    pub mac: String,
}

impl Manifest {
    /// The bytes the MAC covers: the manifest as compact JSON with `mac`
    /// empty. Fields serialise in declaration order and floats round-trip
    /// exactly (serde_json's `float_roundtrip`), so the manifest read back
    /// gives the same bytes as the one written.
    pub fn canonical(&self) -> Vec<u8> {
        let unsigned = Manifest {
            mac: String::new(),
            ..self.clone()
        };
        serde_json::to_vec(&unsigned).expect("a manifest serialises")
    }

    /// Sets `mac` under `masker`'s key.
    pub fn sign(&mut self, masker: &Masker) {
        self.mac = masker.manifest_mac(&self.canonical());
    }

    /// Whether `mac` is the MAC of the other fields under `masker`'s key
    /// (compared in constant time).
    pub fn mac_verifies(&self, masker: &Masker) -> bool {
        let expected = masker.manifest_mac(&self.canonical());
        expected.len() == self.mac.len()
            && expected
                .bytes()
                .zip(self.mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
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

/// Publishes a finished snapshot: the manifest is written and synced under
/// a temporary name, then the snapshot (`data`, finished: written and
/// synced) and the manifest are renamed into place. A crash in between
/// leaves a manifest that does not match its file, which seeding refuses.
/// On failure the manifest's temporary file goes, and the snapshot's with
/// `data` when it was not renamed yet.
pub fn commit(data: NewFile, data_path: &str, manifest: &Manifest) -> Result<(), Error> {
    let manifest_path = path_for(data_path);
    let tmp = format!("{manifest_path}.tmp");
    let result = (|| {
        let mut text = serde_json::to_string_pretty(manifest).expect("a manifest serialises");
        text.push('\n');
        // Errors name the manifest being written, not its temporary name;
        // a full disk is named as such (see the SDK's `file`).
        run_plugin_sdk::file::write_synced(&tmp, text.as_bytes())
            .map_err(|e| Error::io(&manifest_path, Access::Write, e))?;
        data.commit()?;
        fs::rename(&tmp, &manifest_path).map_err(|e| Error::io(&manifest_path, Access::Write, e))
    })();
    if result.is_err() {
        remove_quietly(&tmp);
    }
    result
}

/// The masking key as seeding sees it: the task's `key_env` and its value.
pub struct Key<'a> {
    pub env: &'a str,
    pub value: &'a [u8],
}

/// Reads the manifest of `data`, checks its MAC under `key`, and checks the
/// file against it. Every refusal names the file and why.
pub fn verify(data: &str, key: &Key<'_>) -> Result<Manifest, Error> {
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
    let refuse = |why: String| Error::failed(format!("refusing to seed from {data}: {why}"));
    let not_a_manifest =
        |e: serde_json::Error| refuse(format!("{path} is not a sanitize manifest: {e}"));
    let value: serde_json::Value = serde_json::from_str(&text).map_err(not_a_manifest)?;
    match value.get("schema").and_then(serde_json::Value::as_str) {
        Some(SCHEMA) => {}
        Some("run.sanitize/v1") => {
            return Err(refuse(format!(
                "its manifest {path} is `run.sanitize/v1`, written before manifests were authenticated; sanitize again to get a {SCHEMA} one"
            )));
        }
        Some(other) => {
            return Err(refuse(format!(
                "its manifest's schema is `{other}`, not {SCHEMA}"
            )));
        }
        None => {
            return Err(refuse(format!(
                "{path} is not a sanitize manifest: no `schema`"
            )));
        }
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(not_a_manifest)?;
    let masker = Masker::new(key.value);
    if manifest.key_id != masker.key_id() {
        return Err(refuse(format!(
            "its manifest {path} was written under key id {}, but the key in {} has key id {}: seed with the key the snapshot was sanitized with",
            manifest.key_id,
            key.env,
            masker.key_id()
        )));
    }
    if !manifest.mac_verifies(&masker) {
        return Err(refuse(format!(
            "its manifest {path} is not authentic: its MAC does not verify under the key in {} (the manifest was edited, or not written by sanitize)",
            key.env
        )));
    }
    let file_name = data.rsplit('/').next().unwrap_or(data);
    if manifest.file != file_name {
        return Err(refuse(format!(
            "its manifest describes `{}`",
            manifest.file
        )));
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
    use super::{Key, Manifest, SCHEMA, SampleInfo, TableCounts, now_rfc3339, path_for, verify};
    use crate::engine::mask::Masker;
    use sha2::{Digest, Sha256};

    const KEY: &[u8] = b"a-key-of-at-least-16-chars";

    /// A snapshot `shop.sql` and its signed manifest in a fresh directory.
    fn snapshot(test: &str, contents: &str) -> (std::path::PathBuf, String) {
        let dir =
            std::env::temp_dir().join(format!("sanitize-manifest-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("shop.sql").to_str().unwrap().to_owned();
        std::fs::write(&data, contents).unwrap();
        let masker = Masker::new(KEY);
        let mut manifest = Manifest {
            schema: SCHEMA.into(),
            file: "shop.sql".into(),
            created_at: now_rfc3339(),
            source: "database `shop` of container `pg`".into(),
            policy_digest: "0".repeat(64),
            key_id: masker.key_id(),
            key_env: "SANITIZE_KEY".into(),
            masked: vec![("public.customers.email".into(), "email".into())],
            sample: Some(SampleInfo {
                fraction: 0.1,
                roots: vec!["public.customers".into()],
            }),
            tables: vec![TableCounts {
                table: "public.customers".into(),
                rows_before: 2000,
                rows_after: 196,
            }],
            bytes: contents.len() as u64,
            sha256: super::hex(&Sha256::digest(contents.as_bytes())),
            mac: String::new(),
        };
        manifest.sign(&masker);
        let text = serde_json::to_string_pretty(&manifest).unwrap();
        std::fs::write(path_for(&data), text).unwrap();
        (dir, data)
    }

    fn key(value: &[u8]) -> Key<'_> {
        Key {
            env: "SANITIZE_KEY",
            value,
        }
    }

    fn edit(data: &str, f: impl FnOnce(&mut serde_json::Value)) {
        let path = path_for(data);
        let mut value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        f(&mut value);
        std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    }

    #[test]
    fn a_signed_manifest_verifies_after_a_round_trip() {
        let (dir, data) = snapshot("round-trip", "COPY sanitized;\n");
        let manifest = verify(&data, &key(KEY)).unwrap();
        assert_eq!(manifest.sample.unwrap().fraction, 0.1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_manifest_edited_to_match_an_unsanitized_dump_is_refused() {
        // Regression: a copied manifest with its checksum edited to match a
        // raw dump seeded it.
        let (dir, data) = snapshot("forged", "COPY sanitized;\n");
        let raw = "COPY customers: ada@lovelace.org\n";
        std::fs::write(&data, raw).unwrap();
        edit(&data, |m| {
            m["sha256"] = super::hex(&Sha256::digest(raw.as_bytes())).into();
            m["bytes"] = raw.len().into();
        });
        let e = verify(&data, &key(KEY)).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "refusing to seed from {data}: its manifest {data}.manifest.json is not authentic: its MAC does not verify under the key in SANITIZE_KEY (the manifest was edited, or not written by sanitize)"
            )
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_manifest_without_a_mac_or_under_another_key_is_refused() {
        let (dir, data) = snapshot("no-mac", "COPY sanitized;\n");
        let e = verify(&data, &key(b"another-key-of-16-chars"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("was written under key id"), "{e}");
        edit(&data, |m| m["mac"] = "".into());
        let e = verify(&data, &key(KEY)).unwrap_err().to_string();
        assert!(e.contains("is not authentic"), "{e}");
        edit(&data, |m| {
            m.as_object_mut().unwrap().remove("mac");
            m["schema"] = "run.sanitize/v1".into();
        });
        let e = verify(&data, &key(KEY)).unwrap_err().to_string();
        assert!(
            e.contains("written before manifests were authenticated"),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_changed_file_is_refused_even_with_an_authentic_manifest() {
        let (dir, data) = snapshot("changed", "COPY sanitized;\n");
        std::fs::write(&data, "COPY sanitizeD;\n").unwrap();
        let e = verify(&data, &key(KEY)).unwrap_err().to_string();
        assert!(e.contains("it does not match its manifest"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_and_times() {
        assert_eq!(path_for("s/demo.sql"), "s/demo.sql.manifest.json");
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }
}
