//! Writing a small file so that a full disk is reported as such, a large
//! one that the host writes and hashes ([`NewFile`]), and a large one the
//! host reads ahead ([`ReadFile`]).
//!
//! Under WASI a failed stream write (what `File::write` does) reaches the
//! plugin as a bare `EIO` ("I/O error (os error 29)"): a full disk, a quota
//! and a broken disk all read the same. A positioned write (`pwrite`)
//! returns the filesystem's own error code, so [`write_synced`] and
//! [`Positioned`] write that way and [`Error::io`](crate::Error::io) can then
//! name a full disk.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::__private::bindings::runner::plugin::files::{self as wit, FileError};
use crate::{Access, Error};

/// Creates (or truncates) `path`, writes all of `bytes` with positioned
/// writes and syncs it to disk. A full disk fails with
/// [`io::ErrorKind::StorageFull`].
///
/// ```no_run
/// run_plugin_sdk::file::write_synced("backups/x.json.tmp", b"{}\n")
///     .map_err(|e| run_plugin_sdk::Error::io("backups/x.json", run_plugin_sdk::Access::Write, e))?;
/// # Ok::<(), run_plugin_sdk::Error>(())
/// ```
pub fn write_synced(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let file = File::create(path)?;
    let mut offset = 0usize;
    while offset < bytes.len() {
        let n = write_at(&file, &bytes[offset..], offset as u64)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        offset += n;
    }
    file.sync_all()
}

/// A file written from its start with positioned writes: a [`io::Write`]
/// whose full-disk errors say so (wrap it in a `BufWriter` for small
/// writes).
///
/// ```no_run
/// use std::io::Write;
/// let file = std::fs::File::create("out/big.sql")?;
/// let mut out = std::io::BufWriter::new(run_plugin_sdk::file::Positioned::new(file));
/// out.write_all(b"...")?;
/// let file = out.into_inner().map_err(|e| e.into_error())?.into_inner();
/// file.sync_all()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Positioned {
    file: File,
    offset: u64,
}

impl Positioned {
    /// Writes `file` from its start.
    pub fn new(file: File) -> Positioned {
        Positioned { file, offset: 0 }
    }

    /// The file, e.g. to sync it.
    pub fn into_inner(self) -> File {
        self.file
    }
}

impl io::Write for Positioned {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = write_at(&self.file, buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file the host writes for the plugin (the `files` interface), hashing
/// it with SHA-256 as it goes: for a large output published with its
/// digest, which the plugin then neither computes in wasm nor could make up.
///
/// It is written under a hidden temporary name beside `path` and appears
/// there only on [`NewFile::commit`]; dropped before that (or left by a run
/// that failed or was killed), nothing is at `path` and what was there is
/// untouched. Writes go to the host in pieces of at most
/// [`NewFile::MAX_WRITE`] bytes (wrap it in a `BufWriter` for small writes).
///
/// ```no_run
/// use std::io::Write;
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let mut file = run_plugin_sdk::file::NewFile::create("out/big.sql")?;
/// file.write_all(b"...").map_err(|e| file.error(e))?;
/// let written = file.finish()?; // synced; size and SHA-256 from the host
/// println!("{} bytes, sha256 {}", written.bytes, written.sha256);
/// file.commit()?; // now at out/big.sql
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct NewFile {
    file: wit::NewFile,
    path: String,
}

/// What a finished [`NewFile`] holds, as the host wrote it.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let mut file = run_plugin_sdk::file::NewFile::create("out/empty")?;
/// let written: run_plugin_sdk::file::Written = file.finish()?;
/// assert_eq!(written.bytes, 0);
/// # Ok(()) }
/// ```
pub use wit::Written;

impl NewFile {
    /// The most the host takes in one write; larger writes are split.
    pub const MAX_WRITE: usize = 4 << 20;

    /// Starts writing `path`, a file in a write-granted directory (never
    /// through a symlink). Refused under `run --plan`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let file = run_plugin_sdk::file::NewFile::create("out/x.sql")?;
    /// # Ok(()) }
    /// ```
    pub fn create(path: &str) -> Result<NewFile, Error> {
        let file = wit::NewFile::create(path).map_err(|e| file_error(path, Access::Write, e))?;
        Ok(NewFile {
            file,
            path: path.to_owned(),
        })
    }

    /// Ends the writing: everything reaches the disk, and the host answers
    /// the size and SHA-256 of what it wrote.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let mut file = run_plugin_sdk::file::NewFile::create("out/x.sql")?;
    /// let sha256 = file.finish()?.sha256;
    /// # Ok(()) }
    /// ```
    pub fn finish(&mut self) -> Result<Written, Error> {
        self.file
            .finish()
            .map_err(|e| file_error(&self.path, Access::Write, e))
    }

    /// After [`NewFile::finish`]: renames the file to its path, replacing
    /// what was there.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let mut file = run_plugin_sdk::file::NewFile::create("out/x.sql")?;
    /// file.finish()?;
    /// file.commit()?;
    /// # Ok(()) }
    /// ```
    pub fn commit(self) -> Result<(), Error> {
        self.file
            .commit()
            .map_err(|e| file_error(&self.path, Access::Write, e))
    }

    /// The [`Error`] for an I/O error of a write to this file (a full disk
    /// is named as such).
    ///
    /// ```no_run
    /// use std::io::Write;
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let mut file = run_plugin_sdk::file::NewFile::create("out/x.sql")?;
    /// file.write_all(b"x").map_err(|e| file.error(e))?;
    /// # Ok(()) }
    /// ```
    pub fn error(&self, error: io::Error) -> Error {
        Error::io(&self.path, Access::Write, error)
    }
}

impl io::Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(Self::MAX_WRITE);
        self.file.write(&buf[..n]).map_err(io_error)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A file the host reads for the plugin (the `files` interface), ahead of
/// it on a thread of its own, in large pieces: for streaming a large input,
/// where WASI's `std::fs::File` reads at most 64 KiB per call.
///
/// ```no_run
/// use std::io::Read;
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let mut file = run_plugin_sdk::file::ReadFile::open("dumps/big.sql")?;
/// let mut text = String::new();
/// file.read_to_string(&mut text).map_err(|e| file.error(e))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReadFile {
    file: wit::ReadFile,
    path: String,
}

impl ReadFile {
    /// Opens `path`, a regular file in a read- or write-granted directory
    /// (never through a symlink).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let file = run_plugin_sdk::file::ReadFile::open("dumps/big.sql")?;
    /// # Ok(()) }
    /// ```
    pub fn open(path: &str) -> Result<ReadFile, Error> {
        let file = wit::ReadFile::open(path).map_err(|e| file_error(path, Access::Read, e))?;
        Ok(ReadFile {
            file,
            path: path.to_owned(),
        })
    }

    /// The [`Error`] for an I/O error of a read of this file.
    ///
    /// ```no_run
    /// use std::io::Read;
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let mut file = run_plugin_sdk::file::ReadFile::open("dumps/big.sql")?;
    /// let mut buf = [0; 16];
    /// file.read(&mut buf).map_err(|e| file.error(e))?;
    /// # Ok(()) }
    /// ```
    pub fn error(&self, error: io::Error) -> Error {
        Error::io(&self.path, Access::Read, error)
    }

    /// Passes over the file through the first line that is exactly `line`
    /// (1 to 256 bytes, no newline; ended by a newline or the end of the
    /// file), without the bytes entering the plugin: the host searches them.
    /// `mid_line`: the start of the current line was already read (and is
    /// not `line`). Reads go on after it; [`Skipped::found`] is false when
    /// the file ended first.
    ///
    /// ```no_run
    /// use std::io::Read;
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let mut file = run_plugin_sdk::file::ReadFile::open("dumps/big.sql")?;
    /// // The rows of a COPY block, up to its `\.` line.
    /// let skipped = file.skip_through_line(b"\\.", false).map_err(|e| file.error(e))?;
    /// println!("{} rows passed over", skipped.lines);
    /// # Ok(()) }
    /// ```
    pub fn skip_through_line(&mut self, line: &[u8], mid_line: bool) -> io::Result<Skipped> {
        self.file
            .skip_through_line(line, mid_line)
            .map_err(io_error)
    }
}

/// What [`ReadFile::skip_through_line`] passed over: `bytes` (the line
/// included), `lines` (newlines before the line) and `found`.
pub use wit::Skipped;

impl io::Read for ReadFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let bytes = self.file.read(max).map_err(io_error)?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }
}

/// A write's failure as `std::io` has it: a full disk keeps its kind, so
/// [`Error::io`] names it.
fn io_error(error: FileError) -> io::Error {
    match error {
        FileError::Full(_) => io::Error::new(io::ErrorKind::StorageFull, "no space left on device"),
        FileError::Denied(denial) => io::Error::new(
            io::ErrorKind::PermissionDenied,
            Error::from(denial).message().to_owned(),
        ),
        FileError::Io((_, reason)) => io::Error::other(reason),
    }
}

fn file_error(path: &str, access: Access, error: FileError) -> Error {
    match error {
        FileError::Denied(denial) => Error::from(denial),
        FileError::Full(path) => Error::io(&path, Access::Write, io::ErrorKind::StorageFull.into()),
        FileError::Io((at, reason)) => {
            let at = if at.is_empty() { path.to_owned() } else { at };
            Error::failed(format!("cannot {} `{at}`: {reason}", access.as_str()))
        }
    }
}

#[cfg(target_os = "wasi")]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let offset = i64::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::FileTooLarge))?;
    // SAFETY: `buf` is valid for `buf.len()` bytes and the descriptor is
    // `file`'s, open for the whole call.
    let n = unsafe { libc::pwrite(file.as_raw_fd(), buf.as_ptr().cast(), buf.len(), offset) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, offset)
}

#[cfg(not(any(unix, target_os = "wasi")))]
fn write_at(file: &File, buf: &[u8], _offset: u64) -> io::Result<usize> {
    io::Write::write(&mut &*file, buf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_the_whole_file() {
        let dir = std::env::temp_dir().join(format!("sdk-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x");
        std::fs::write(&path, b"longer old contents").unwrap();
        super::write_synced(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mut w = super::Positioned::new(std::fs::File::create(&path).unwrap());
        std::io::Write::write_all(&mut w, b"one ").unwrap();
        std::io::Write::write_all(&mut w, b"two").unwrap();
        drop(w.into_inner());
        assert_eq!(std::fs::read(&path).unwrap(), b"one two");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
