//! The build context as the engine receives it: the files beneath the
//! context directory, walked from its descriptor one `openat` at a time
//! without following a symlink (a symlink is archived as a symlink, as
//! docker does, so nothing outside the context is ever read), less what
//! `.dockerignore` excludes. The same walk digests it (did it change?) and
//! writes it as a tar, in chunks, into a channel the engine reads from: the
//! context is never whole in memory.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::ignore::Ignore;
use crate::capability::beneath;
use crate::capability::engine::backend::{ByteStream, EngineError};
use crate::capability::engine::stream::CHUNK;

/// What one entry of the context is.
pub enum Kind {
    Dir,
    File(std::fs::File),
    Symlink(PathBuf),
}

/// One entry: its path relative to the context (`/`-separated), its
/// permission bits and modification time, and what it is.
pub struct Entry {
    pub path: String,
    pub mode: u32,
    pub mtime: u64,
    pub size: u64,
    pub kind: Kind,
}

/// Opens the context directory at a canonical path (checked against the
/// grants by the caller), walking from `/` without following a symlink.
pub fn open(canonical: &Path) -> std::io::Result<OwnedFd> {
    let root = beneath::open_trusted_dir(Path::new("/"))?;
    let relative = canonical.strip_prefix("/").unwrap_or(canonical);
    let dir = beneath::open_dir(root.as_fd(), relative, false).map_err(|e| {
        std::io::Error::other(format!(
            "{} is not a plain directory (a symlink or missing at `{}`)",
            canonical.display(),
            e.at().display()
        ))
    })?;
    readable(dir.as_fd(), OsStr::new("."))
}

fn readable(dir: BorrowedFd<'_>, name: &OsStr) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Reads a file beneath the context (the Dockerfile, `.dockerignore`)
/// without following a symlink; `None` when it does not exist.
pub fn read_file(context: &OwnedFd, relative: &str) -> std::io::Result<Option<Vec<u8>>> {
    let path = Path::new(relative);
    let (parent, name) = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => (parent, name),
        _ => return Ok(None),
    };
    let dir = match beneath::open_dir(context.as_fd(), parent, false) {
        Ok(dir) => dir,
        Err(beneath::WalkError::Missing { .. }) => return Ok(None),
        Err(e) => {
            return Err(std::io::Error::other(format!(
                "`{}` is not a plain directory",
                e.at().display()
            )));
        }
    };
    let fd = match rustix::fs::openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(std::io::Error::other(format!(
                "`{relative}` is a symlink, which is not followed"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut text = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut text)?;
    Ok(Some(text))
}

/// Walks the context depth-first in name order, calling `visit` for every
/// entry `.dockerignore` does not exclude.
pub fn walk(
    context: &OwnedFd,
    ignore: &Ignore,
    visit: &mut dyn FnMut(Entry) -> std::io::Result<()>,
) -> std::io::Result<()> {
    walk_dir(
        readable(context.as_fd(), OsStr::new("."))?,
        "",
        ignore,
        visit,
    )
}

fn walk_dir(
    dir: OwnedFd,
    prefix: &str,
    ignore: &Ignore,
    visit: &mut dyn FnMut(Entry) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    for entry in rustix::fs::Dir::read_from(&dir)? {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let name = OsStr::from_bytes(&name);
        let Some(text) = name.to_str() else {
            return Err(std::io::Error::other(format!(
                "`{prefix}{}`: the file name is not UTF-8",
                name.to_string_lossy()
            )));
        };
        let path = format!("{prefix}{text}");
        let stat = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        let excluded = ignore.excluded(&path);
        let mode = stat.st_mode & 0o7777;
        let mtime = u64::try_from(stat.st_mtime).unwrap_or(0);
        match kind {
            FileType::Directory => {
                if excluded && !ignore.may_include_beneath(&path) {
                    continue;
                }
                // Opened without following: a directory swapped for a
                // symlink since `statat` fails here instead of leading out.
                let sub = readable(dir.as_fd(), name)?;
                if !excluded {
                    visit(Entry {
                        path: path.clone(),
                        mode,
                        mtime,
                        size: 0,
                        kind: Kind::Dir,
                    })?;
                }
                walk_dir(sub, &format!("{path}/"), ignore, visit)?;
            }
            _ if excluded => {}
            FileType::RegularFile => {
                let fd = rustix::fs::openat(
                    &dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
                    Mode::empty(),
                )?;
                let stat = rustix::fs::fstat(&fd)?;
                if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
                    return Err(std::io::Error::other(format!(
                        "`{path}` changed while the context was read"
                    )));
                }
                visit(Entry {
                    path,
                    mode: stat.st_mode & 0o7777,
                    mtime: u64::try_from(stat.st_mtime).unwrap_or(0),
                    size: u64::try_from(stat.st_size).unwrap_or(0),
                    kind: Kind::File(std::fs::File::from(fd)),
                })?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(&dir, name, Vec::new())?;
                visit(Entry {
                    path,
                    mode,
                    mtime,
                    size: 0,
                    kind: Kind::Symlink(PathBuf::from(OsStr::from_bytes(target.as_bytes()))),
                })?;
            }
            // Sockets, FIFOs and devices are not sent, as docker does not.
            _ => {}
        }
    }
    Ok(())
}

/// sha256 (hex) of the context as sent: each entry's path, type, mode and
/// contents (a symlink's target), in walk order; times are left out, so a
/// file touched but unchanged is no change. `extra` is the Dockerfile and
/// the options.
pub fn digest(context: &OwnedFd, ignore: &Ignore, extra: &[u8]) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    hash.update(b"run.build.v1\0");
    hash.update(extra);
    let mut buffer = vec![0u8; 64 << 10];
    walk(context, ignore, &mut |entry| {
        hash.update(entry.path.as_bytes());
        hash.update([0]);
        hash.update(entry.mode.to_le_bytes());
        match entry.kind {
            Kind::Dir => hash.update(b"d"),
            Kind::Symlink(target) => {
                hash.update(b"l");
                hash.update(target.as_os_str().as_bytes());
            }
            Kind::File(mut file) => {
                hash.update(b"f");
                hash.update(entry.size.to_le_bytes());
                loop {
                    let n = file.read(&mut buffer)?;
                    if n == 0 {
                        break;
                    }
                    hash.update(&buffer[..n]);
                }
            }
        }
        hash.update([0]);
        Ok(())
    })?;
    Ok(hex::encode(hash.finalize()))
}

/// A file added to the archive that is not in the context directory (an
/// inline Dockerfile, or one from outside the context).
pub struct Extra {
    pub path: String,
    pub contents: Vec<u8>,
}

/// Writes the context as a tar into `out`.
pub fn archive(
    context: &OwnedFd,
    ignore: &Ignore,
    extra: Option<&Extra>,
    out: impl Write,
) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    walk(context, ignore, &mut |entry| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_mtime(entry.mtime);
        header.set_uid(0);
        header.set_gid(0);
        match entry.kind {
            Kind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, format!("{}/", entry.path), std::io::empty())
            }
            Kind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, &entry.path, target)
            }
            Kind::File(file) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(entry.size);
                // At most `size` bytes: a file growing meanwhile cannot
                // overrun its header.
                tar.append_data(&mut header, &entry.path, file.take(entry.size))
            }
        }
    })?;
    if let Some(extra) = extra {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(extra.contents.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, &extra.path, extra.contents.as_slice())?;
    }
    tar.into_inner()?.flush()
}

/// A writer that sends what is written, in chunks of `CHUNK` bytes, to the
/// engine's request body; a closed channel (the engine stopped reading)
/// fails the write, which ends the walk.
pub struct ChunkWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Result<Bytes, EngineError>>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let n = data.len().min(room);
        self.buffer.extend_from_slice(&data[..n]);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The archive as a stream of chunks, written by a blocking thread: at most
/// a few chunks are in memory at once. The thread's result says whether the
/// whole context was read.
pub fn stream(
    context: OwnedFd,
    ignore: Ignore,
    extra: Option<Extra>,
) -> (ByteStream, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (sender, receiver) = mpsc::channel(4);
    let writer = ChunkWriter {
        buffer: Vec::with_capacity(CHUNK),
        sender,
    };
    let done =
        tokio::task::spawn_blocking(move || archive(&context, &ignore, extra.as_ref(), writer));
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    (Box::pin(stream), done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("ctx/src")).unwrap();
        std::fs::create_dir_all(p.join("ctx/node_modules/x")).unwrap();
        std::fs::write(p.join("ctx/Dockerfile"), "FROM busybox\n").unwrap();
        std::fs::write(p.join("ctx/src/main.txt"), "hello").unwrap();
        std::fs::write(p.join("ctx/node_modules/x/big.js"), "x").unwrap();
        std::fs::write(p.join("ctx/.dockerignore"), "node_modules\n*.log\n").unwrap();
        std::fs::write(p.join("ctx/debug.log"), "log").unwrap();
        std::fs::write(p.join("outside.txt"), "secret").unwrap();
        std::os::unix::fs::symlink("../outside.txt", p.join("ctx/link")).unwrap();
        dir
    }

    fn names(context: &OwnedFd, ignore: &Ignore) -> Vec<String> {
        let mut out = Vec::new();
        walk(context, ignore, &mut |e| {
            out.push(e.path);
            Ok(())
        })
        .unwrap();
        out
    }

    fn ignore(context: &OwnedFd) -> Ignore {
        let text = read_file(context, ".dockerignore").unwrap().unwrap();
        Ignore::parse(std::str::from_utf8(&text).unwrap(), &["Dockerfile"]).unwrap()
    }

    #[test]
    fn the_walk_leaves_out_what_dockerignore_excludes_and_never_follows_a_symlink() {
        let dir = project();
        let context = open(&dir.path().join("ctx")).unwrap();
        let ignore = ignore(&context);
        assert_eq!(
            names(&context, &ignore),
            [".dockerignore", "Dockerfile", "link", "src", "src/main.txt"]
        );
        let mut bytes = Vec::new();
        archive(&context, &ignore, None, &mut bytes).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            if path == "link" {
                assert_eq!(entry.header().entry_type(), tar::EntryType::Symlink);
                assert_eq!(
                    entry.link_name().unwrap().unwrap().to_str(),
                    Some("../outside.txt")
                );
            }
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert!(!text.contains("secret"), "{path}");
            seen.push(path);
        }
        assert!(seen.contains(&"src/main.txt".to_owned()), "{seen:?}");
        assert!(!seen.iter().any(|p| p.contains("node_modules")), "{seen:?}");
    }

    #[test]
    fn a_context_that_is_a_symlink_is_not_opened() {
        let dir = project();
        std::os::unix::fs::symlink(dir.path().join("ctx"), dir.path().join("alias")).unwrap();
        assert!(open(&dir.path().join("alias")).is_err());
        let context = open(&dir.path().join("ctx")).unwrap();
        assert!(read_file(&context, "link").is_err());
        assert_eq!(read_file(&context, "nothing").unwrap(), None);
    }

    #[test]
    fn the_digest_changes_with_contents_not_with_times_or_ignored_files() {
        let dir = project();
        let ctx = dir.path().join("ctx");
        let context = open(&ctx).unwrap();
        let ignore = ignore(&context);
        let first = digest(&context, &ignore, b"").unwrap();
        std::fs::write(ctx.join("debug.log"), "more log").unwrap();
        std::fs::write(ctx.join("node_modules/x/big.js"), "y").unwrap();
        std::fs::write(ctx.join("src/main.txt"), "hello").unwrap();
        assert_eq!(digest(&context, &ignore, b"").unwrap(), first);
        assert_ne!(digest(&context, &ignore, b"args").unwrap(), first);
        std::fs::write(ctx.join("src/main.txt"), "hello!").unwrap();
        assert_ne!(digest(&context, &ignore, b"").unwrap(), first);
    }

    #[tokio::test]
    async fn the_stream_sends_the_archive_in_chunks() {
        use futures_util::StreamExt;
        let dir = project();
        let ctx = dir.path().join("ctx");
        std::fs::write(ctx.join("big.bin"), vec![7u8; 3 * CHUNK + 10]).unwrap();
        let context = open(&ctx).unwrap();
        let (mut stream, done) = stream(context, Ignore::none(), None);
        let mut total = 0;
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            assert!(chunk.len() <= CHUNK);
            total += chunk.len();
            chunks += 1;
        }
        done.await.unwrap().unwrap();
        assert!(chunks >= 4, "{chunks}");
        assert!(total > 3 * CHUNK);
    }
}
