//! Files the host reads or writes for a plugin (exec streams, archives,
//! snapshots, exports, bind mounts, locks) must lie inside the task's granted
//! directories, exactly as if the plugin opened them through WASI. Every
//! host-side open of a file a plugin names goes through `open_read`,
//! `create_write`, `bind_source` or `open_lock`.
//!
//! A plugin's path is split, not joined: it must be relative to a granted
//! directory (or under an absolute grant), with no `..`; the file is then
//! reached from that grant's opened directory (`Preopen::dir`) one component
//! at a time, never following a symlink (`beneath`). A symlink anywhere on the
//! way, even one pointing back inside, is refused naming it: the plugin that
//! planted it could have pointed it anywhere.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::capability::beneath::{self, WalkError};
use crate::capability::files::Preopen;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("`{0}` is not inside a directory granted to this task for {1}")]
    NotGranted(String, &'static str),
    #[error("`{0}` leaves its granted directory")]
    Escapes(String),
    /// `path` is, or passes through, the symlink `link` (to `target`); both
    /// named as the plugin names paths.
    #[error("{}", symlink_message(path, link, target))]
    Symlink {
        path: String,
        link: String,
        target: String,
    },
    #[error("`{0}` is not a regular file")]
    NotAFile(String),
    #[error("`{0}`: {1}")]
    Io(String, String),
}

fn symlink_message(path: &str, link: &str, target: &str) -> String {
    let what = if path == link {
        format!("`{path}` is a symlink (to `{target}`)")
    } else {
        format!("`{path}` passes through a symlink, `{link}` (to `{target}`)")
    };
    format!("{what}; the runner never follows a symlink in a plugin's files")
}

/// A plugin's path, located: the preopen it lies in and the names beneath it.
struct Located<'a> {
    preopen: &'a Preopen,
    /// The names beneath the preopen.
    inner: Vec<&'a OsStr>,
    guest: &'a str,
    /// The names above them (the grant's), and whether the path is absolute.
    above: Vec<&'a OsStr>,
    absolute: bool,
}

/// The names of a path, and whether it is absolute; `None` if it has `..`.
fn names(path: &str) -> Option<(bool, Vec<&OsStr>)> {
    let mut absolute = false;
    let mut names = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::RootDir => absolute = true,
            Component::CurDir => {}
            Component::Normal(name) => names.push(name),
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some((absolute, names))
}

/// Finds the granted directory a plugin's path lies in (the deepest one, and
/// a writable one for `write`), by its names: `out/x` is in `./out/`, and
/// `out2/x` is not in `out`.
fn locate<'a>(
    preopens: &'a [Preopen],
    guest: &'a str,
    write: bool,
) -> Result<Located<'a>, PathError> {
    let purpose = if write { "writing" } else { "reading" };
    let Some((absolute, path)) = names(guest) else {
        return Err(PathError::Escapes(guest.to_owned()));
    };
    let (preopen, depth) = preopens
        .iter()
        .filter(|p| !write || p.writable)
        .filter_map(|p| {
            let (grant_absolute, grant) = names(&p.guest)?;
            (grant_absolute == absolute && path.starts_with(&grant)).then_some((p, grant.len()))
        })
        .max_by_key(|(_, depth)| *depth)
        .ok_or_else(|| PathError::NotGranted(guest.to_owned(), purpose))?;
    Ok(Located {
        preopen,
        inner: path[depth..].to_vec(),
        guest,
        above: path[..depth].to_vec(),
        absolute,
    })
}

impl Located<'_> {
    /// The path of `names` (the first of `inner`) as the plugin names it,
    /// without `.` components.
    fn guest_of(&self, names: &Path) -> String {
        let path: PathBuf = self.above.iter().copied().chain(names.iter()).collect();
        let root = if self.absolute { "/" } else { "" };
        format!("{root}{}", path.display())
    }

    /// Opens the directory holding the last name, and returns that name.
    fn parent(&self) -> Result<(OwnedFd, &OsStr), PathError> {
        let Some((name, dirs)) = self.inner.split_last() else {
            return Err(PathError::NotAFile(self.guest.to_owned()));
        };
        let dirs: PathBuf = dirs.iter().collect();
        let dir =
            beneath::open_dir(self.preopen.dir(), &dirs, false).map_err(|e| self.walk_error(e))?;
        Ok((dir, name))
    }

    fn walk_error(&self, error: WalkError) -> PathError {
        let at = self.guest_of(error.at());
        let guest = self.guest.to_owned();
        match error {
            WalkError::Symlink { target, .. } => PathError::Symlink {
                path: guest,
                link: at,
                target: target.to_string_lossy().into_owned(),
            },
            WalkError::NotADirectory { .. } => {
                PathError::Io(guest, format!("`{at}` is not a directory"))
            }
            WalkError::Missing { .. } => PathError::Io(guest, format!("`{at}` does not exist")),
            WalkError::Create { source, .. } | WalkError::Io { source, .. } => {
                PathError::Io(guest, source.to_string())
            }
        }
    }

    /// An open of the last name failed: say it is a symlink if it is one.
    fn open_error(&self, dir: BorrowedFd<'_>, name: &OsStr, errno: Errno) -> PathError {
        if let Ok(Some(FileType::Symlink)) = beneath::entry_type(dir, name) {
            return PathError::Symlink {
                path: self.guest.to_owned(),
                link: self.guest_of(&self.inner.iter().collect::<PathBuf>()),
                target: beneath::read_link(dir, name)
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            };
        }
        self.io(errno.into())
    }

    fn io(&self, error: std::io::Error) -> PathError {
        PathError::Io(self.guest.to_owned(), error.to_string())
    }

    /// Opens the last name as a regular file; `O_NONBLOCK` so that a FIFO
    /// someone put there cannot hang the open (it is refused just after).
    fn open_file(&self, flags: OFlags, mode: Mode) -> Result<std::fs::File, PathError> {
        let (dir, name) = self.parent()?;
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let fd = rustix::fs::openat(&dir, name, flags, mode)
            .map_err(|e| self.open_error(dir.as_fd(), name, e))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| self.io(e.into()))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(PathError::NotAFile(self.guest.to_owned()));
        }
        rustix::fs::fcntl_getfl(&fd)
            .and_then(|now| rustix::fs::fcntl_setfl(&fd, now.difference(OFlags::NONBLOCK)))
            .map_err(|e| self.io(e.into()))?;
        Ok(std::fs::File::from(fd))
    }
}

/// Opens a granted file for reading on the host's side (exec stdin, copy-in,
/// volume restore). Every host-side read of a plugin-named file goes through here.
pub async fn open_read(preopens: &[Preopen], guest: &str) -> Result<tokio::fs::File, PathError> {
    let (preopens, guest) = (preopens.to_vec(), guest.to_owned());
    blocking(move || locate(&preopens, &guest, false)?.open_file(OFlags::RDONLY, Mode::empty()))
        .await
        .map(tokio::fs::File::from_std)
}

/// A file `create_write` is writing under a temporary name beside its
/// target. `commit` renames it into place; `discard` (or dropping it)
/// removes it. A failed or interrupted write never leaves a partial file
/// under the name the plugin asked for, and never truncates the file that
/// was there.
#[must_use = "a new file is removed unless it is committed"]
pub struct NewFile {
    dir: OwnedFd,
    temp: OsString,
    name: OsString,
    guest: String,
    settled: bool,
}

impl NewFile {
    /// The file as the plugin named it.
    pub fn guest(&self) -> &str {
        &self.guest
    }

    /// Syncs `file` (the one `create_write` returned, everything written and
    /// flushed) to disk and renames it to the name the plugin asked for,
    /// replacing what was there (a symlink put there meanwhile is replaced,
    /// never followed).
    pub async fn commit(mut self, file: tokio::fs::File) -> Result<(), PathError> {
        let io = |e: std::io::Error| PathError::Io(self.guest.clone(), e.to_string());
        file.sync_all().await.map_err(io)?;
        drop(file);
        rustix::fs::renameat(&self.dir, &self.temp, &self.dir, &self.name)
            .map_err(|e| io(e.into()))?;
        self.settled = true;
        Ok(())
    }

    /// Removes the temporary file after a failure.
    pub async fn discard(mut self) {
        self.remove();
    }

    fn remove(&mut self) {
        if !self.settled {
            self.settled = true;
            let _ = rustix::fs::unlinkat(&self.dir, &self.temp, AtFlags::empty());
        }
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        self.remove();
    }
}

impl std::fmt::Debug for NewFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewFile")
            .field("guest", &self.guest)
            .field("temp", &self.temp)
            .finish_non_exhaustive()
    }
}

/// Creates a granted file for writing on the host's side (exec stdout,
/// copy-out, snapshots, exports): the returned file is a new temporary file
/// beside the target, which `NewFile::commit` renames into place once
/// everything is written. Every host-side write of a plugin-named file goes
/// through here.
pub async fn create_write(
    preopens: &[Preopen],
    guest: &str,
) -> Result<(tokio::fs::File, NewFile), PathError> {
    let (preopens, guest) = (preopens.to_vec(), guest.to_owned());
    let (file, new) = blocking(move || create_temp(&preopens, &guest)).await?;
    Ok((tokio::fs::File::from_std(file), new))
}

fn create_temp(preopens: &[Preopen], guest: &str) -> Result<(std::fs::File, NewFile), PathError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let located = locate(preopens, guest, true)?;
    let (dir, name) = located.parent()?;
    match beneath::entry_type(dir.as_fd(), name) {
        Ok(Some(FileType::Symlink)) => {
            return Err(located.open_error(dir.as_fd(), name, Errno::LOOP));
        }
        Ok(Some(FileType::Directory)) => return Err(PathError::NotAFile(guest.to_owned())),
        Ok(_) => {}
        Err(e) => return Err(located.io(e)),
    }
    // Hidden, and named after the target, so a file left by a killed run is
    // recognisable and never taken for the finished one.
    let stem: String = name.to_string_lossy().chars().take(64).collect();
    loop {
        let temp = OsString::from(format!(
            ".{stem}.{}-{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        match rustix::fs::openat(&dir, &temp, flags, Mode::from_bits_truncate(0o666)) {
            Ok(fd) => {
                return Ok((
                    std::fs::File::from(fd),
                    NewFile {
                        dir,
                        temp,
                        name: name.to_owned(),
                        guest: guest.to_owned(),
                        settled: false,
                    },
                ));
            }
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(located.io(e.into())),
        }
    }
}

/// The host path of a granted directory or file to bind-mount into a
/// container. The container engine opens the path itself, so the runner
/// cannot hand it a descriptor: the path returned is canonical (no symlink at
/// any component, the project root's included) and was checked, by walking it
/// again from `/` without following symlinks, to name the very file reached
/// beneath the grant.
///
/// What remains is a race: between this check and the engine's own lookup, a
/// process that can write in a directory along the path (a plugin running at
/// the same time with a write grant there, or any local user with access) can
/// replace a component with a symlink, and the engine would follow it. Call
/// this immediately before handing the path to the engine.
pub fn bind_source(preopens: &[Preopen], guest: &str, write: bool) -> Result<PathBuf, PathError> {
    let located = locate(preopens, guest, write)?;
    let opened = if located.inner.is_empty() {
        rustix::fs::openat(
            located.preopen.dir(),
            ".",
            OFlags::CLOEXEC | entry_flags(),
            Mode::empty(),
        )
        .map_err(|e| located.io(e.into()))?
    } else {
        let (dir, name) = located.parent()?;
        let fd = rustix::fs::openat(&dir, name, entry_flags(), Mode::empty())
            .map_err(|e| located.open_error(dir.as_fd(), name, e))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| located.io(e.into()))?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
            return Err(located.open_error(dir.as_fd(), name, Errno::LOOP));
        }
        fd
    };
    let host: PathBuf = located
        .inner
        .iter()
        .fold(located.preopen.host.clone(), |p, n| p.join(n));
    let canonical = std::fs::canonicalize(&host).map_err(|e| located.io(e))?;
    let rechecked = open_absolute(&canonical).map_err(|e| {
        PathError::Io(
            guest.to_owned(),
            format!(
                "{} changed while it was being checked: {e}",
                canonical.display()
            ),
        )
    })?;
    let same = beneath::identity(rechecked.as_fd()).map_err(|e| located.io(e))?
        == beneath::identity(opened.as_fd()).map_err(|e| located.io(e))?;
    if !same {
        return Err(PathError::Io(
            guest.to_owned(),
            format!("{} changed while it was being checked", canonical.display()),
        ));
    }
    Ok(canonical)
}

/// Opens the file or directory at an absolute path, without following a
/// symlink at any component.
fn open_absolute(path: &Path) -> std::io::Result<OwnedFd> {
    let root = beneath::open_trusted_dir(Path::new("/"))?;
    let relative = path.strip_prefix("/").map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an absolute path")
    })?;
    let Some(name) = relative.file_name() else {
        return Ok(root);
    };
    let parent = relative.parent().unwrap_or(Path::new(""));
    let dir = beneath::open_dir(root.as_fd(), parent, false).map_err(|e| {
        std::io::Error::other(format!("{} is not a plain directory", e.at().display()))
    })?;
    Ok(rustix::fs::openat(
        &dir,
        name,
        entry_flags(),
        Mode::empty(),
    )?)
}

/// How a bind source is opened: itself, whatever its type (`O_PATH` opens a
/// symlink as a symlink, which the caller refuses).
fn entry_flags() -> OFlags {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = OFlags::PATH;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = OFlags::RDONLY;
    flags | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opens (creating it when missing) a lock file in a write grant, and names
/// the file it opened (device and inode) so one task's handles on one file
/// share one lock, whatever path each used.
pub fn open_lock(
    preopens: &[Preopen],
    guest: &str,
) -> Result<(std::fs::File, (u64, u64)), PathError> {
    let located = locate(preopens, guest, true)?;
    let file = located.open_file(
        OFlags::RDWR | OFlags::CREATE,
        Mode::from_bits_truncate(0o666),
    )?;
    let identity = beneath::identity(file.as_fd()).map_err(|e| located.io(e))?;
    Ok((file, identity))
}

/// Checks, without opening or creating anything, that a plugin's path lies in
/// a grant (a writable one for `write`), with no `..` and no symlink in the
/// directories above it (for `--dry-run`).
pub fn check(preopens: &[Preopen], guest: &str, write: bool) -> Result<(), PathError> {
    let located = locate(preopens, guest, write)?;
    if located.inner.is_empty() {
        return Ok(());
    }
    let (dir, name) = located.parent()?;
    match beneath::entry_type(dir.as_fd(), name) {
        Ok(Some(FileType::Symlink)) => Err(located.open_error(dir.as_fd(), name, Errno::LOOP)),
        _ => Ok(()),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PathError> + Send + 'static,
) -> Result<T, PathError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(PathError::Io(String::new(), e.to_string())))
}

#[cfg(test)]
mod tests;
