//! Finding and reading advisory inputs: files and directories (walked),
//! OSV `.json` records, OSV `.zip` archives (as osv.dev publishes per
//! ecosystem), the Alpine secdb (`.yaml` or `.json`), the Debian security
//! tracker's JSON, and Debian DSA/DLA lists. A `.json` file is told apart by
//! its first bytes.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Advisory, alpine, debian, debian_tracker, osv};

/// An advisory input file, with what the cache key needs.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    size: u64,
    modified: u128,
}

/// Why advisories could not be read; names the file (and record or line).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("advisories: {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("advisories: {path}: {why}")]
    Parse { path: String, why: String },
}

impl InputFile {
    /// Its modification time, in seconds since 1970.
    pub fn modified_secs(&self) -> u64 {
        (self.modified / 1_000_000_000) as u64
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Every input file under `roots`, in a stable order.
pub fn input_files(roots: &[String]) -> Result<Vec<InputFile>, LoadError> {
    let mut files = Vec::new();
    for root in roots {
        walk(Path::new(root), &mut files)?;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn walk(path: &Path, files: &mut Vec<InputFile>) -> Result<(), LoadError> {
    let meta = fs::metadata(path).map_err(io(path))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(path)
            .map_err(io(path))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io(path))?;
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden {
                walk(&entry, files)?;
            }
        }
    } else if meta.is_file() {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        files.push(InputFile {
            path: path.to_owned(),
            size: meta.len(),
            modified,
        });
    }
    Ok(())
}

/// A digest of the inputs' names, sizes and modification times (like
/// make): the compiled database is rebuilt whenever one changes.
pub fn digest(files: &[InputFile], format_version: u32) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("scan-db {format_version}\n"));
    for f in files {
        hash.update(format!(
            "{}\0{}\0{}\n",
            f.path.display(),
            f.size,
            f.modified
        ));
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads every advisory of the inputs, taking those of a file in `parsed`
/// (a download verified by this run) from there instead of reading it again.
pub fn load_with(
    files: &[InputFile],
    parsed: &mut std::collections::HashMap<PathBuf, Vec<Advisory>>,
) -> Result<Vec<Advisory>, LoadError> {
    let mut advisories = Vec::new();
    for file in files {
        let first = advisories.len();
        match parsed.remove(&file.path) {
            Some(done) => advisories.extend(done),
            None => read_file(&file.path, &mut advisories)?,
        }
        // Formats without dates (the secdb, the tracker's JSON) are as
        // current as their file.
        let mtime = (file.modified / 1_000_000_000 / 86_400) as i64;
        for a in &mut advisories[first..] {
            a.date = a.date.or(Some(mtime));
        }
    }
    Ok(advisories)
}

fn parse_error(path: &Path, why: String) -> LoadError {
    LoadError::Parse {
        path: path.display().to_string(),
        why,
    }
}

/// The advisories of one file (a download being verified).
pub fn read_one(path: &Path) -> Result<Vec<Advisory>, LoadError> {
    let mut out = Vec::new();
    read_file(path, &mut out)?;
    Ok(out)
}

fn read_file(path: &Path, out: &mut Vec<Advisory>) -> Result<(), LoadError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "zip" => read_zip(path, out),
        "json" => {
            let head = head(path, 4096)?;
            if debian_tracker::looks_like(&head) {
                // Tens of MB: streamed, never held whole.
                let file = fs::File::open(path).map_err(io(path))?;
                out.extend(debian_tracker::parse(file).map_err(|why| parse_error(path, why))?);
                return Ok(());
            }
            let data = fs::read(path).map_err(io(path))?;
            if alpine::looks_like(&String::from_utf8_lossy(&data)) {
                out.extend(alpine::parse_json(&data).map_err(|why| parse_error(path, why))?);
            } else if let Some(a) = osv::parse(&data).map_err(|why| parse_error(path, why))? {
                out.push(a);
            }
            Ok(())
        }
        "yaml" | "yml" => {
            let text = fs::read_to_string(path).map_err(io(path))?;
            if alpine::looks_like(&text) {
                out.extend(alpine::parse(&text).map_err(|why| parse_error(path, why))?);
            }
            Ok(())
        }
        // Other files are read only when they are Debian lists (`DSA-list`,
        // `list`), recognised by their first line.
        _ => {
            if !debian::looks_like(&head(path, 64)?) {
                return Ok(());
            }
            let text = fs::read_to_string(path).map_err(io(path))?;
            out.extend(debian::parse(&text).map_err(|why| parse_error(path, why))?);
            Ok(())
        }
    }
}

/// The first `n` bytes of a file, as text.
fn head(path: &Path, n: u64) -> Result<String, LoadError> {
    let mut data = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(n).read_to_end(&mut data))
        .map_err(io(path))?;
    Ok(String::from_utf8_lossy(&data).into_owned())
}

fn read_zip(path: &Path, out: &mut Vec<Advisory>) -> Result<(), LoadError> {
    let file = fs::File::open(path).map_err(io(path))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| parse_error(path, e.to_string()))?;
    let mut data = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| parse_error(path, e.to_string()))?;
        if !entry.is_file() || !entry.name().ends_with(".json") {
            continue;
        }
        let name = entry.name().to_owned();
        data.clear();
        entry
            .read_to_end(&mut data)
            .map_err(|e| parse_error(path, format!("{name}: {e}")))?;
        if let Some(a) =
            osv::parse(&data).map_err(|why| parse_error(path, format!("{name}: {why}")))?
        {
            out.push(a);
        }
    }
    Ok(())
}
