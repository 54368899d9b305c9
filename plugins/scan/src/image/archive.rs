//! A `docker save` archive (also the OCI-layout form Docker 25+ writes):
//! `manifest.json` names each image's config and layers in order. The
//! archive is read twice from disk: once to index where each member starts,
//! then each layer is streamed from its offset, decompressed on the fly, and
//! only the files a scan needs are kept. Nothing the size of a layer is
//! held in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::files::{Files, normalise, wanted};
use super::layer_cache::{LayerCache, valid_diff_id};
use super::{Inventory, Layer};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a docker-save archive: {why}")]
    Format { path: String, why: String },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ImageConfig {
    #[serde(default)]
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Debug, Default, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct History {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

/// Where a member's data is in the archive file.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    size: u64,
}

/// Reads every image of a docker-save archive. With a layer cache, a layer
/// already cached (by diff ID) is replayed instead of read, and a layer read
/// whose bytes hash to its diff ID is cached.
pub fn read(path: &Path, cache: Option<&LayerCache>) -> Result<Vec<Inventory>, ArchiveError> {
    let name = path.display().to_string();
    let io = |source| ArchiveError::Io {
        path: name.clone(),
        source,
    };
    let format = |why: String| ArchiveError::Format {
        path: name.clone(),
        why,
    };
    let (members, links) = index(path).map_err(io)?;
    let resolve = |member: &str| -> Option<Span> {
        let mut m = normalise(member);
        for _ in 0..8 {
            if let Some(span) = members.get(&m) {
                return Some(*span);
            }
            m = links.get(&m)?.clone();
        }
        None
    };
    let mut file = File::open(path).map_err(io)?;
    let manifest =
        resolve("manifest.json").ok_or_else(|| format("it has no manifest.json".into()))?;
    let manifest: Vec<ManifestEntry> =
        serde_json::from_slice(&read_span(&mut file, manifest).map_err(io)?)
            .map_err(|e| format(format!("manifest.json: {e}")))?;
    if manifest.is_empty() {
        return Err(format("manifest.json lists no image".into()));
    }
    let mut inventories = Vec::new();
    for entry in manifest {
        let config: ImageConfig = match resolve(&entry.config) {
            Some(span) => serde_json::from_slice(&read_span(&mut file, span).map_err(io)?)
                .map_err(|e| format(format!("{}: {e}", entry.config)))?,
            None => ImageConfig::default(),
        };
        let diff_ids = config.rootfs.map(|r| r.diff_ids).unwrap_or_default();
        let created_by: Vec<Option<String>> = config
            .history
            .into_iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by)
            .collect();
        let mut files = Files::default();
        let mut layers = Vec::new();
        for (index, layer) in entry.layers.iter().enumerate() {
            let diff_id = diff_ids.get(index).filter(|d| valid_diff_id(d));
            if let Some(ops) = cache.zip(diff_id).and_then(|(c, d)| c.get(d)) {
                files.replay(index, &ops);
                files.end_layer(index);
                layers.push(Layer {
                    index,
                    diff_id: diff_id.cloned(),
                    created_by: created_by.get(index).cloned().flatten(),
                });
                continue;
            }
            let span = resolve(layer).ok_or_else(|| format(format!("layer {layer} is missing")))?;
            let verify = cache.is_some() && diff_id.is_some();
            if verify {
                files.record();
            }
            let digest = apply_layer(&mut file, span, index, &mut files, verify)
                .map_err(|e| format(format!("layer {} ({layer}): {e}", index + 1)))?;
            if let (Some(cache), Some(diff_id)) = (cache, diff_id) {
                let ops = files.recorded();
                // A layer whose bytes do not hash to the diff ID its config
                // claims is scanned, never cached under that ID.
                if digest.as_deref() == Some(diff_id.as_str()) {
                    cache
                        .put(diff_id, &ops)
                        .map_err(|e| io_at(cache.dir().display().to_string(), e))?;
                }
            }
            files.end_layer(index);
            layers.push(Layer {
                index,
                diff_id: diff_ids.get(index).cloned(),
                created_by: created_by.get(index).cloned().flatten(),
            });
        }
        let target = entry
            .repo_tags
            .and_then(|t| t.into_iter().next())
            .unwrap_or_else(|| {
                path.file_name()
                    .map_or(name.clone(), |f| f.to_string_lossy().into_owned())
            });
        let mut inventory = files.inventory(target, true);
        inventory.layers = layers;
        inventories.push(inventory);
    }
    Ok(inventories)
}

fn io_at(path: String, source: std::io::Error) -> ArchiveError {
    ArchiveError::Io { path, source }
}

type Index = (HashMap<String, Span>, HashMap<String, String>);

/// Member name → data span, and symbolic links among members.
fn index(path: &Path) -> std::io::Result<Index> {
    let mut archive = tar::Archive::new(File::open(path)?);
    let mut members = HashMap::new();
    let mut links = HashMap::new();
    // Seeking over members reads only the headers of a multi-GB archive.
    for entry in archive.entries_with_seek()? {
        let entry = entry?;
        let name = normalise(&entry.path()?.to_string_lossy());
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                members.insert(
                    name,
                    Span {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Some(target) = entry.link_name()? {
                    let target = target.to_string_lossy();
                    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                    let resolved = if entry.header().entry_type() == tar::EntryType::Link {
                        normalise(&target)
                    } else {
                        normalise(&format!("{dir}/{target}"))
                    };
                    links.insert(name, collapse_dots(&resolved));
                }
            }
            _ => {}
        }
    }
    Ok((members, links))
}

fn collapse_dots(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        if c == ".." {
            parts.pop();
        } else {
            parts.push(c);
        }
    }
    parts.join("/")
}

fn read_span(file: &mut File, span: Span) -> std::io::Result<Vec<u8>> {
    if span.size > 64 << 20 {
        return Err(std::io::Error::other("a JSON member larger than 64 MiB"));
    }
    file.seek(SeekFrom::Start(span.offset))?;
    let mut data = Vec::with_capacity(span.size as usize);
    file.take(span.size).read_to_end(&mut data)?;
    Ok(data)
}

/// A member of the archive as a file of its own: reads and seeks stay
/// within `start..start + len`.
struct Window<'a> {
    file: &'a mut File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 {
            return Ok(0);
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        self.file.seek(SeekFrom::Start(self.start + self.pos))?;
        let read = self.file.read(&mut buf[..n])?;
        self.pos += read as u64;
        Ok(read)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| std::io::Error::other("seek before the start of a layer"))?;
        Ok(self.pos)
    }
}

/// A reader that hashes what passes through it (when asked to).
struct Hashing<R> {
    inner: R,
    hash: Option<Sha256>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Applies an uncompressed tar stream; with `verify`, reads it to the end
/// and returns `sha256:HEX` of every byte (the layer's diff ID).
fn stream<R: Read>(
    reader: R,
    index: usize,
    files: &mut Files,
    verify: bool,
) -> std::io::Result<Option<String>> {
    let mut archive = tar::Archive::new(Hashing {
        inner: reader,
        hash: verify.then(Sha256::new),
    });
    apply_tar(&mut archive.entries()?, index, files)?;
    let mut rest = archive.into_inner();
    let Some(_) = rest.hash else {
        return Ok(None);
    };
    // The tar ends before the file does (end-of-archive blocks, padding):
    // the diff ID covers every byte.
    std::io::copy(&mut rest, &mut std::io::sink())?;
    let hex: String = rest
        .hash
        .take()
        .expect("checked above")
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some(format!("sha256:{hex}")))
}

/// Streams one layer (plain, gzip or zstd tar) through `files`; with
/// `verify`, returns the digest of its uncompressed bytes.
fn apply_layer(
    file: &mut File,
    span: Span,
    index: usize,
    files: &mut Files,
    verify: bool,
) -> std::io::Result<Option<String>> {
    let mut magic = [0u8; 4];
    file.seek(SeekFrom::Start(span.offset))?;
    let n = Read::by_ref(file).take(4.min(span.size)).read(&mut magic)?;
    let window = Window {
        file,
        start: span.offset,
        len: span.size,
        pos: 0,
    };
    if magic[..n].starts_with(&[0x1f, 0x8b]) {
        let reader = BufReader::with_capacity(1 << 16, window);
        stream(
            flate2::read::MultiGzDecoder::new(reader),
            index,
            files,
            verify,
        )
    } else if magic[..n] == [0x28, 0xb5, 0x2f, 0xfd] {
        let reader = BufReader::with_capacity(1 << 16, window);
        let decoder =
            ruzstd::decoding::StreamingDecoder::new(reader).map_err(std::io::Error::other)?;
        stream(decoder, index, files, verify)
    } else if verify {
        // Hashing reads every byte anyway: read it in order, buffered.
        stream(
            BufReader::with_capacity(1 << 16, window),
            index,
            files,
            true,
        )
    } else {
        // An uncompressed layer (what `docker save` writes) is seekable:
        // only its headers and the wanted files are read. No read-ahead
        // buffer: it would read (and throw away) file contents at every skip.
        let mut archive = tar::Archive::new(window);
        apply_tar(&mut archive.entries_with_seek()?, index, files)?;
        Ok(None)
    }
}

/// Applies one layer's entries: whiteouts, then the wanted files.
pub fn apply_tar<R: Read>(
    entries: &mut tar::Entries<'_, R>,
    index: usize,
    files: &mut Files,
) -> std::io::Result<()> {
    for entry in entries {
        let entry = entry?;
        let path = normalise(&entry.path()?.to_string_lossy());
        if files.whiteout(index, &path) || !wanted(&path) {
            continue;
        }
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                files.add_file(index, &path, size, entry)?;
            }
            tar::EntryType::Symlink => {
                if let Some(target) = entry.link_name()? {
                    files.add_link(index, &path, &target.to_string_lossy());
                }
            }
            tar::EntryType::Link => {
                if let Some(target) = entry.link_name()? {
                    files.add_hard_link(index, &path, &target.to_string_lossy());
                }
            }
            _ => files.remove(&path),
        }
    }
    Ok(())
}
