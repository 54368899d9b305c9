//! Writing a small file so that a full disk is reported as such.
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
