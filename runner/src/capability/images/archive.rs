//! An exported image archive names exactly the image the task asked for.
//!
//! `images.export` saves the image by ID, so a tag moved meanwhile cannot
//! change what is saved; what the engine then writes as the image's names in
//! the archive is its own choice (Docker 20.10: `RepoTags: null`, Podman
//! 4.3.1: `[]`, and other tags of the same image would name other tasks'
//! images). So the archive is rewritten as it streams: `manifest.json`'s
//! `RepoTags` becomes the one name the task asked for (a granted reference
//! to this image, as `docker save NAME` writes it) or none when it asked by
//! ID, and the legacy `repositories` file names nothing (`docker load` reads
//! the manifest). Every other entry passes through untouched, a chunk at a
//! time; only those two small files are held (up to [`HELD_LIMIT`]).
//!
//! An archive that is not a single image's `docker save` (no manifest, more
//! than one image, a bad header, cut short) is an error, so the file is
//! never left looking complete.

use bytes::Bytes;
use futures_util::StreamExt;

use crate::capability::engine::backend::{ByteStream, EngineError};

const BLOCK: usize = 512;

/// `manifest.json`, `repositories` and extended headers larger than this are
/// not an engine's.
pub const HELD_LIMIT: u64 = 1 << 20;

/// Why an archive could not be renamed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveProblem {
    #[error("a tar header's checksum is wrong at byte {0}")]
    BadHeader(u64),
    #[error("`{name}` is {size} bytes, more than an image archive's {HELD_LIMIT}")]
    TooLarge { name: String, size: u64 },
    #[error("its manifest.json is not a list of images: {0}")]
    BadManifest(String),
    #[error("its manifest.json names {0} images, not one")]
    NotOneImage(usize),
    #[error("it has no manifest.json")]
    NoManifest,
    #[error("it ended inside an entry")]
    Truncated,
    #[error("`{0}` has its size in a PAX header, which a new size would contradict")]
    PaxSized(String),
}

/// What is held until it is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Manifest,
    Repositories,
    /// A PAX extended header (`x`): its `path` and `size` apply to the next entry.
    Pax,
    /// A GNU long name (`L`): the next entry's name.
    LongName,
}

#[derive(Debug)]
enum State {
    /// Collecting the next 512-byte header.
    Header,
    /// Passing `left` bytes of an entry (data and padding) through.
    Pass { left: u64 },
    /// Holding an entry's data (and padding) until it is complete.
    Hold {
        header: Box<[u8; BLOCK]>,
        held: Held,
        size: u64,
        data: Vec<u8>,
    },
    /// After the end-of-archive block: everything passes.
    Trailer,
}

/// The streaming rewriter: [`Renamer::push`] each chunk, then
/// [`Renamer::finish`].
#[derive(Debug)]
pub struct Renamer {
    repo_tags: Vec<String>,
    state: State,
    block: Vec<u8>,
    /// The next entry's name and size from a PAX or GNU long-name entry.
    next_name: Option<String>,
    next_size: Option<u64>,
    offset: u64,
    manifests: usize,
}

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// The header's checksum is what it says (`tar` reads it, and does not check it).
fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let header = tar::Header::from_byte_slice(block);
    let Ok(stated) = header.cksum() else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    sum == stated
}

impl Renamer {
    /// An archive whose manifest will name exactly `repo_tags`.
    pub fn new(repo_tags: Vec<String>) -> Renamer {
        Renamer {
            repo_tags,
            state: State::Header,
            block: Vec::with_capacity(BLOCK),
            next_name: None,
            next_size: None,
            offset: 0,
            manifests: 0,
        }
    }

    /// The bytes to write for `chunk` (possibly none yet, while a header or
    /// a held file is incomplete).
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<Vec<u8>, ArchiveProblem> {
        let mut out = Vec::with_capacity(chunk.len() + BLOCK);
        while !chunk.is_empty() {
            match &mut self.state {
                State::Trailer => {
                    out.extend_from_slice(chunk);
                    chunk = &[];
                }
                State::Pass { left } => {
                    let n = chunk
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&chunk[..n]);
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = State::Header;
                    }
                    chunk = &chunk[n..];
                }
                State::Hold { size, data, .. } => {
                    let want = usize::try_from(padded(*size)).unwrap_or(usize::MAX) - data.len();
                    let n = chunk.len().min(want);
                    data.extend_from_slice(&chunk[..n]);
                    chunk = &chunk[n..];
                    if n == want {
                        self.release(&mut out)?;
                    }
                }
                State::Header => {
                    let n = chunk.len().min(BLOCK - self.block.len());
                    self.block.extend_from_slice(&chunk[..n]);
                    chunk = &chunk[n..];
                    if self.block.len() == BLOCK {
                        let mut block = Box::new([0u8; BLOCK]);
                        block.copy_from_slice(&self.block);
                        self.block.clear();
                        self.header(block, &mut out)?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Checks that the archive was whole and named the image.
    pub fn finish(&self) -> Result<(), ArchiveProblem> {
        match self.state {
            State::Trailer | State::Header if self.block.is_empty() => {}
            _ => return Err(ArchiveProblem::Truncated),
        }
        if self.manifests == 0 {
            return Err(ArchiveProblem::NoManifest);
        }
        Ok(())
    }

    fn header(&mut self, block: Box<[u8; BLOCK]>, out: &mut Vec<u8>) -> Result<(), ArchiveProblem> {
        let at = self.offset;
        self.offset += BLOCK as u64;
        if block.iter().all(|b| *b == 0) {
            out.extend_from_slice(&block[..]);
            self.state = State::Trailer;
            return Ok(());
        }
        if !checksum_ok(&block) {
            return Err(ArchiveProblem::BadHeader(at));
        }
        let header = tar::Header::from_byte_slice(&block[..]);
        let pax_size = self.next_size.take();
        let size = match pax_size {
            Some(size) => size,
            None => header
                .entry_size()
                .map_err(|_| ArchiveProblem::BadHeader(at))?,
        };
        let name = self
            .next_name
            .take()
            .unwrap_or_else(|| String::from_utf8_lossy(&header.path_bytes()).into_owned());
        let kind = header.entry_type();
        let held = if kind.is_pax_local_extensions() {
            Some(Held::Pax)
        } else if kind.is_gnu_longname() {
            Some(Held::LongName)
        } else if kind.is_file() {
            match name.strip_prefix("./").unwrap_or(&name) {
                "manifest.json" => Some(Held::Manifest),
                "repositories" => Some(Held::Repositories),
                _ => None,
            }
        } else {
            None
        };
        self.offset += padded(size);
        match held {
            Some(Held::Manifest | Held::Repositories) if pax_size.is_some() => {
                Err(ArchiveProblem::PaxSized(name))
            }
            Some(_) if size > HELD_LIMIT => Err(ArchiveProblem::TooLarge { name, size }),
            Some(held) => {
                self.state = State::Hold {
                    header: block,
                    held,
                    size,
                    data: Vec::with_capacity(usize::try_from(padded(size)).unwrap_or(0)),
                };
                if size == 0 {
                    self.release(out)?;
                }
                Ok(())
            }
            None => {
                out.extend_from_slice(&block[..]);
                self.state = if size == 0 {
                    State::Header
                } else {
                    State::Pass { left: padded(size) }
                };
                Ok(())
            }
        }
    }

    /// A held entry is complete: written out, rewritten or not.
    fn release(&mut self, out: &mut Vec<u8>) -> Result<(), ArchiveProblem> {
        let State::Hold {
            header,
            held,
            size,
            data,
        } = std::mem::replace(&mut self.state, State::Header)
        else {
            return Ok(());
        };
        let content = &data[..usize::try_from(size).unwrap_or(data.len())];
        let rewritten = match held {
            Held::Pax => {
                for extension in tar::PaxExtensions::new(content).flatten() {
                    match extension.key() {
                        Ok("path") => {
                            self.next_name = extension.value().ok().map(str::to_owned);
                        }
                        Ok("size") => {
                            self.next_size = extension.value().ok().and_then(|v| v.parse().ok());
                        }
                        _ => {}
                    }
                }
                None
            }
            Held::LongName => {
                let name = content.split(|b| *b == 0).next().unwrap_or_default();
                self.next_name = Some(String::from_utf8_lossy(name).into_owned());
                None
            }
            Held::Manifest => {
                self.manifests += 1;
                Some(self.manifest(content)?)
            }
            Held::Repositories => Some(b"{}".to_vec()),
        };
        match rewritten {
            None => {
                out.extend_from_slice(&header[..]);
                out.extend_from_slice(&data);
            }
            Some(content) => {
                let mut header = tar::Header::from_byte_slice(&header[..]).clone();
                header.set_size(content.len() as u64);
                header.set_cksum();
                out.extend_from_slice(header.as_bytes());
                out.extend_from_slice(&content);
                let padding = padded(content.len() as u64) as usize - content.len();
                out.resize(out.len() + padding, 0);
            }
        }
        Ok(())
    }

    /// `manifest.json` with `RepoTags` set to the one name asked for.
    fn manifest(&self, content: &[u8]) -> Result<Vec<u8>, ArchiveProblem> {
        let bad = |e: serde_json::Error| ArchiveProblem::BadManifest(e.to_string());
        let mut images: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_slice(content).map_err(bad)?;
        if images.len() != 1 {
            return Err(ArchiveProblem::NotOneImage(images.len()));
        }
        images[0].insert("RepoTags".into(), serde_json::json!(self.repo_tags));
        serde_json::to_vec(&images).map_err(bad)
    }
}

/// `source`, an engine's `docker save` of one image, with exactly
/// `repo_tags` as the image's names. `what` names the export in errors
/// (`exporting image sha256:…`), `address` the engine.
pub fn name_exactly(
    source: ByteStream,
    repo_tags: Vec<String>,
    what: String,
    address: String,
) -> ByteStream {
    let failed = move |problem: ArchiveProblem| EngineError::Failed {
        address: address.clone(),
        message: format!("{what}: the engine's archive cannot be named: {problem}"),
    };
    let state = Some((source, Renamer::new(repo_tags), failed));
    Box::pin(futures_util::stream::unfold(state, |state| async move {
        let (mut source, mut renamer, failed) = state?;
        match source.next().await {
            Some(Ok(chunk)) => match renamer.push(&chunk) {
                Ok(out) => Some((Ok(Bytes::from(out)), Some((source, renamer, failed)))),
                Err(problem) => Some((Err(failed(problem)), None)),
            },
            Some(Err(e)) => Some((Err(e), None)),
            None => match renamer.finish() {
                Ok(()) => None,
                Err(problem) => Some((Err(failed(problem)), None)),
            },
        }
    }))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A `docker save` archive as the engines write it: layer dirs, the
    /// config, `manifest.json` naming `tags`, `repositories`.
    fn archive(tags: serde_json::Value, long_layer: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, data).unwrap();
        };
        let layer = vec![7u8; 3000];
        add("abc/layer.tar", &layer);
        if long_layer {
            // A name longer than ustar's 100 + 155 bytes: a GNU long name.
            add(&format!("{}/layer.tar", "d".repeat(300)), b"x");
        }
        add("cfg.json", br#"{"config":{}}"#);
        let manifest = serde_json::json!([{"Config": "cfg.json", "RepoTags": tags, "Layers": ["abc/layer.tar"]}]);
        add("manifest.json", manifest.to_string().as_bytes());
        add("repositories", br#"{"localhost/other/secret":{"9":"abc"}}"#);
        builder.into_inner().unwrap()
    }

    /// Each entry of a tar archive: its name and its bytes.
    pub(in crate::capability::images) fn entries(tar_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                (name, data)
            })
            .collect()
    }

    fn renamed(input: &[u8], tags: &[&str], chunk: usize) -> Result<Vec<u8>, ArchiveProblem> {
        let mut renamer = Renamer::new(tags.iter().map(|t| t.to_string()).collect());
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            out.extend(renamer.push(piece)?);
        }
        renamer.finish()?;
        Ok(out)
    }

    fn repo_tags(out: &[u8]) -> serde_json::Value {
        let (_, manifest) = entries(out)
            .into_iter()
            .find(|(n, _)| n == "manifest.json")
            .unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        manifest[0]["RepoTags"].clone()
    }

    #[test]
    fn every_tag_the_engine_wrote_is_replaced_by_the_one_asked_for() {
        let input = archive(
            serde_json::json!([
                "localhost/run-test/busybox:latest",
                "localhost/other/secret:9"
            ]),
            true,
        );
        // Any chunking: one byte at a time, a block and a bit, all at once.
        for chunk in [1, 513, 4096, input.len()] {
            let out = renamed(&input, &["run-test/busybox:latest"], chunk).unwrap();
            assert_eq!(
                repo_tags(&out),
                serde_json::json!(["run-test/busybox:latest"])
            );
            let before = entries(&input);
            let after = entries(&out);
            assert_eq!(
                before.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                after.iter().map(|(n, _)| n).collect::<Vec<_>>()
            );
            for ((name, a), (_, b)) in before.iter().zip(&after) {
                match name.as_str() {
                    "manifest.json" => {}
                    "repositories" => assert_eq!(b, b"{}"),
                    _ => assert_eq!(a, b, "{name} changed"),
                }
            }
            assert!(!String::from_utf8_lossy(&out).contains("secret"));
        }
    }

    #[test]
    fn an_export_by_id_names_nothing() {
        for engines_tags in [
            serde_json::Value::Null,
            serde_json::json!([]),
            serde_json::json!(["a:1"]),
        ] {
            let out = renamed(&archive(engines_tags, false), &[], 512).unwrap();
            assert_eq!(repo_tags(&out), serde_json::json!([]));
        }
    }

    #[test]
    fn what_is_not_one_images_archive_is_refused() {
        let whole = archive(serde_json::json!([]), false);
        assert_eq!(
            renamed(&whole[..whole.len() - 1500], &[], 512),
            Err(ArchiveProblem::Truncated)
        );
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        header.set_cksum();
        builder.append_data(&mut header, "x", &b"x"[..]).unwrap();
        assert_eq!(
            renamed(&builder.into_inner().unwrap(), &[], 512),
            Err(ArchiveProblem::NoManifest)
        );
        let mut corrupt = whole.clone();
        corrupt[0] ^= 1;
        assert_eq!(
            renamed(&corrupt, &[], 512),
            Err(ArchiveProblem::BadHeader(0))
        );
        let mut builder = tar::Builder::new(Vec::new());
        let two = br#"[{"Config":"a"},{"Config":"b"}]"#;
        let mut header = tar::Header::new_ustar();
        header.set_size(two.len() as u64);
        header.set_cksum();
        builder
            .append_data(&mut header, "manifest.json", &two[..])
            .unwrap();
        assert_eq!(
            renamed(&builder.into_inner().unwrap(), &[], 512),
            Err(ArchiveProblem::NotOneImage(2))
        );
        // A manifest whose size a PAX header gives: a new size in its own
        // header would be overridden by the PAX one.
        let mut builder = tar::Builder::new(Vec::new());
        let manifest = br#"[{"Config":"a"}]"#;
        let record = format!("11 size={}\n", manifest.len());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(record.len() as u64);
        builder
            .append_data(&mut header, "PaxHeaders/manifest.json", record.as_bytes())
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_size(manifest.len() as u64);
        builder
            .append_data(&mut header, "manifest.json", &manifest[..])
            .unwrap();
        assert_eq!(
            renamed(&builder.into_inner().unwrap(), &[], 512),
            Err(ArchiveProblem::PaxSized("manifest.json".into()))
        );
    }
}
