//! The layer cache: what each image layer did to the few files a scan reads
//! (its [`Op`]s), stored under the layer's diff ID (the sha256 of the
//! uncompressed layer, so the same content always has the same key). A scan
//! replays cached layers instead of reading them; an image all of whose
//! layers are cached needs no export at all (see [`inventory`]), which the
//! scan uses once the host's image inspect reports the layers' diff IDs.
//!
//! An entry is only written after the layer's bytes were hashed while being
//! read and matched the diff ID the image config claims: an archive that
//! lies about a diff ID cannot plant packages under another image's layer.
//! Entries are written atomically; one that does not decode is a miss.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::{Files, Op};
use super::{Inventory, Layer};

/// Bumped whenever [`Op`]'s serialized form changes.
const FORMAT_VERSION: u32 = 1;

/// The cache directory (`CACHE/layers`).
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
}

/// `sha256:` and 64 lowercase hex digits: anything else is never a key
/// (an image config is hostile input, and the key becomes a file name).
pub fn valid_diff_id(diff_id: &str) -> bool {
    diff_id.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl LayerCache {
    pub fn new(dir: impl Into<PathBuf>) -> LayerCache {
        LayerCache { dir: dir.into() }
    }

    fn path(&self, diff_id: &str) -> Option<PathBuf> {
        valid_diff_id(diff_id).then(|| {
            self.dir
                .join(format!("{}.layer", diff_id.replace(':', "-")))
        })
    }

    /// The cached operations of the layer `diff_id`, if any.
    pub fn get(&self, diff_id: &str) -> Option<Vec<Op>> {
        let bytes = fs::read(self.path(diff_id)?).ok()?;
        let (version, ops): (u32, Vec<Op>) = postcard::from_bytes(&bytes).ok()?;
        (version == FORMAT_VERSION).then_some(ops)
    }

    /// Stores a layer's operations (atomically: a temporary file renamed).
    pub fn put(&self, diff_id: &str, ops: &[Op]) -> std::io::Result<()> {
        let Some(path) = self.path(diff_id) else {
            return Ok(());
        };
        fs::create_dir_all(&self.dir)?;
        let bytes = postcard::to_stdvec(&(FORMAT_VERSION, ops)).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("partial");
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The inventory of an image whose layers (in order, by diff ID) are all
/// cached, without reading the image; `None` when one is missing.
pub fn inventory(cache: &LayerCache, target: &str, diff_ids: &[String]) -> Option<Inventory> {
    let mut files = Files::default();
    let mut layers = Vec::new();
    for (index, diff_id) in diff_ids.iter().enumerate() {
        let ops = cache.get(diff_id)?;
        files.replay(index, &ops);
        files.end_layer(index);
        layers.push(Layer {
            index,
            diff_id: Some(diff_id.clone()),
            created_by: None,
        });
    }
    let mut inventory = files.inventory(target.to_owned(), true);
    inventory.layers = layers;
    Some(inventory)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::image::archive;

    fn layer(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, text.as_bytes()).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn diff_id(bytes: &[u8]) -> String {
        let hex: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }

    /// A docker-save archive of `layers`; `claimed` overrides the diff IDs
    /// its config states.
    fn save(
        dir: &Path,
        layers: &[Vec<u8>],
        claimed: Option<Vec<String>>,
        gzip_last: bool,
    ) -> PathBuf {
        let ids = claimed.unwrap_or_else(|| layers.iter().map(|l| diff_id(l)).collect());
        let config =
            serde_json::json!({"rootfs": {"type": "layers", "diff_ids": ids}, "history": []});
        let names: Vec<String> = (0..layers.len())
            .map(|i| format!("l{i}/layer.tar"))
            .collect();
        let manifest =
            serde_json::json!([{"Config": "config.json", "RepoTags": ["app:1"], "Layers": names}]);
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        };
        add("manifest.json", manifest.to_string().as_bytes());
        add("config.json", config.to_string().as_bytes());
        for (i, l) in layers.iter().enumerate() {
            if gzip_last && i + 1 == layers.len() {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(l).unwrap();
                add(&names[i], &gz.finish().unwrap());
            } else {
                add(&names[i], l);
            }
        }
        let path = dir.join("image.tar");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        path
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("scan-layer-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn image_layers() -> Vec<Vec<u8>> {
        vec![
            layer(&[
                ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
                (
                    "var/lib/dpkg/status",
                    "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n",
                ),
                ("usr/bin/tool", "#!/bin/sh\n"),
            ]),
            layer(&[(
                "var/lib/dpkg/status",
                "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2\n\nPackage: b\nStatus: install ok unpacked\nArchitecture: amd64\nVersion: 1\n",
            )]),
            layer(&[
                ("var/lib/apt/lists/.wh.x", ""),
                ("var/lib/dpkg/.wh.status-old", ""),
            ]),
        ]
    }

    fn summary(i: &Inventory) -> Vec<(String, String, Option<usize>, Option<String>)> {
        i.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.layer, p.status.clone()))
            .collect()
    }

    #[test]
    fn cached_layers_rebuild_the_inventory_without_the_image() {
        let dir = scratch("rebuild");
        let layers = image_layers();
        let ids: Vec<String> = layers.iter().map(|l| diff_id(l)).collect();
        let cache = LayerCache::new(dir.join("layers"));
        assert!(inventory(&cache, "app:1", &ids).is_none());
        let archive = save(&dir, &layers, None, true);
        let read = archive::read(&archive, Some(&cache)).unwrap().remove(0);
        assert_eq!(
            summary(&read),
            [
                ("a".into(), "2".into(), Some(1), None),
                ("b".into(), "1".into(), Some(1), Some("unpacked".into()))
            ]
        );
        // Every layer was verified and cached; the cached inventory is the
        // same, with no archive at all.
        std::fs::remove_file(&archive).unwrap();
        let cached = inventory(&cache, "app:1", &ids).unwrap();
        assert_eq!(summary(&cached), summary(&read));
        assert_eq!(cached.os, read.os);
        assert_eq!(
            cached
                .layers
                .iter()
                .map(|l| l.diff_id.clone().unwrap())
                .collect::<Vec<_>>(),
            ids
        );
        // Only what the scan reads is kept: the tool and the unrelated
        // whiteout are not.
        let ops = cache.get(&ids[0]).unwrap();
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert_eq!(cache.get(&ids[2]).unwrap().len(), 0);
        // A rescan of the archive replays the cache: a layer whose bytes are
        // now garbage is never read.
        let mut broken = layers.clone();
        broken[1] = b"not a tar at all".repeat(64);
        let archive = save(&dir, &broken, Some(ids.clone()), false);
        let again = archive::read(&archive, Some(&cache)).unwrap().remove(0);
        assert_eq!(summary(&again), summary(&read));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An archive whose config lies about a layer's diff ID is scanned as
    /// it is, and nothing is cached under the claimed ID.
    #[test]
    fn a_lying_diff_id_is_never_cached() {
        let dir = scratch("lying");
        let layers = image_layers();
        let mut claimed: Vec<String> = layers.iter().map(|l| diff_id(l)).collect();
        let honest = claimed[1].clone();
        claimed[1] = format!("sha256:{}", "ab".repeat(32));
        let cache = LayerCache::new(dir.join("layers"));
        let archive = save(&dir, &layers, Some(claimed.clone()), false);
        let read = archive::read(&archive, Some(&cache)).unwrap().remove(0);
        assert_eq!(read.packages.len(), 2);
        assert!(cache.get(&claimed[0]).is_some());
        assert!(cache.get(&claimed[1]).is_none() && cache.get(&honest).is_none());
        // Not a digest at all: never a file name.
        assert!(!valid_diff_id("sha256:../../etc/passwd"));
        assert!(!valid_diff_id(&format!("sha256:{}", "AB".repeat(32))));
        assert!(cache.get("sha256:../x").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
