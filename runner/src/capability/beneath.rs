//! Opening directories and files beneath an opened directory without
//! following a symlink at any component.
//!
//! Every grant the runner hands to WASI, and every file it opens on a plugin's
//! behalf, is reached by this walk: one component at a time, each opened
//! relative to the directory opened before it with `O_NOFOLLOW`. A symlink
//! anywhere on the way, planted by a plugin or by anyone else, stops the walk
//! and is reported by name; and since each step starts from a descriptor, not
//! from a path, nothing is resolved twice, so a symlink swapped in after a
//! check cannot redirect the open that follows it.
//!
//! Linux's `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` does the same in
//! one call, but it answers only `ELOOP`, and a refusal must name the symlink
//! it refused; the walk costs one `openat` per component, and works on every
//! Unix.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// How a directory is opened for walking. `O_PATH` (where it exists) needs no
/// read permission on the directory, only search permission, as a path
/// lookup would; every `*at` call accepts such a descriptor.
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIRECTORY: OFlags = OFlags::PATH
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIRECTORY: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);

/// Why a walk stopped. `at` is the path walked so far, relative to where the
/// walk started, with the component that stopped it last.
#[derive(Debug)]
pub enum WalkError {
    /// `at` is a symlink (to `target`).
    Symlink { at: PathBuf, target: PathBuf },
    /// `at` exists but is not a directory.
    NotADirectory { at: PathBuf },
    /// `at` does not exist.
    Missing { at: PathBuf },
    /// `at` could not be created.
    Create { at: PathBuf, source: std::io::Error },
    /// Anything else the system refused at `at`.
    Io { at: PathBuf, source: std::io::Error },
}

impl WalkError {
    /// Where the walk stopped.
    pub fn at(&self) -> &Path {
        match self {
            WalkError::Symlink { at, .. }
            | WalkError::NotADirectory { at }
            | WalkError::Missing { at }
            | WalkError::Create { at, .. }
            | WalkError::Io { at, .. } => at,
        }
    }
}

/// Opens a directory the way a path lookup would, following symlinks: only
/// for paths the user chose (the project root), never for one a plugin could
/// have changed.
pub fn open_trusted_dir(path: &Path) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        DIRECTORY.difference(OFlags::NOFOLLOW),
        Mode::empty(),
    )?)
}

/// Opens the directory at `path` beneath `start`, one component at a time,
/// never following a symlink. `path` is relative; `.` components are skipped
/// and `..` goes to the parent of the directory actually opened so far (which
/// no symlink can redirect), so callers that must stay beneath `start` reject
/// `..` first. With `create`, missing directories are made (`mkdirat` in the
/// directory opened before them) and then opened the same way.
pub fn open_dir(start: BorrowedFd<'_>, path: &Path, create: bool) -> Result<OwnedFd, WalkError> {
    let mut at = PathBuf::new();
    // The start itself is reopened, so the caller keeps its own descriptor.
    let mut dir =
        rustix::fs::openat(start, ".", DIRECTORY, Mode::empty()).map_err(|e| WalkError::Io {
            at: PathBuf::from("."),
            source: e.into(),
        })?;
    for component in path.components() {
        let name: &OsStr = match component {
            Component::CurDir => continue,
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(name) => name,
            Component::RootDir | Component::Prefix(_) => {
                return Err(WalkError::Io {
                    at: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "an absolute path cannot be opened beneath a directory",
                    ),
                });
            }
        };
        at.push(name);
        dir = step(dir.as_fd(), name, &at, create)?;
    }
    Ok(dir)
}

/// Opens one directory entry as a directory, creating it first when asked.
fn step(dir: BorrowedFd<'_>, name: &OsStr, at: &Path, create: bool) -> Result<OwnedFd, WalkError> {
    match rustix::fs::openat(dir, name, DIRECTORY, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::NOENT) if create => {
            match rustix::fs::mkdirat(dir, name, Mode::from_bits_truncate(0o777)) {
                // Made by someone else meanwhile: it is opened the same way.
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => {
                    return Err(WalkError::Create {
                        at: at.to_path_buf(),
                        source: e.into(),
                    });
                }
            }
            rustix::fs::openat(dir, name, DIRECTORY, Mode::empty())
                .map_err(|e| explain(dir, name, at, e))
        }
        Err(e) => Err(explain(dir, name, at, e)),
    }
}

/// Why `name` in `dir` could not be opened: a symlink, something else than a
/// directory, nothing, or the system's own reason.
fn explain(dir: BorrowedFd<'_>, name: &OsStr, at: &Path, errno: Errno) -> WalkError {
    let at = at.to_path_buf();
    match entry_type(dir, name) {
        Ok(Some(FileType::Symlink)) => WalkError::Symlink {
            target: read_link(dir, name).unwrap_or_default(),
            at,
        },
        Ok(Some(FileType::Directory)) | Err(_) => WalkError::Io {
            at,
            source: errno.into(),
        },
        Ok(Some(_)) => WalkError::NotADirectory { at },
        Ok(None) => WalkError::Missing { at },
    }
}

/// The type of the entry `name` in `dir` itself (a symlink is a symlink), or
/// `None` when there is no such entry.
pub fn entry_type(dir: BorrowedFd<'_>, name: &OsStr) -> std::io::Result<Option<FileType>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What the symlink `name` in `dir` points to, as written in it.
pub fn read_link(dir: BorrowedFd<'_>, name: &OsStr) -> std::io::Result<PathBuf> {
    let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
    Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
}

/// Which file a descriptor refers to: its device and inode.
pub fn identity(fd: BorrowedFd<'_>) -> std::io::Result<(u64, u64)> {
    let stat = rustix::fs::fstat(fd)?;
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    Ok((stat.st_dev as u64, stat.st_ino as u64))
}

/// A path naming exactly the directory or file `fd` refers to, for an API
/// that takes a path and opens it itself (WASI's `preopened_dir`). Opening
/// `/proc/self/fd/N` does not resolve a path name: the kernel jumps straight
/// to the open file behind descriptor N, so whatever has been renamed or
/// replaced by a symlink since, the open reaches the same inode (and fails,
/// rather than reaching another one, if the descriptor is closed).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn descriptor_path(fd: BorrowedFd<'_>) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// On the BSDs and macOS, opening `/dev/fd/N` duplicates descriptor N
/// (fdescfs), which is the same guarantee.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn descriptor_path(fd: BorrowedFd<'_>) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/dev/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn root(dir: &Path) -> OwnedFd {
        open_trusted_dir(dir).unwrap()
    }

    #[test]
    fn opens_nested_directories_and_creates_missing_ones() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        let start = root(tmp.path());
        let b = open_dir(start.as_fd(), Path::new("./a/b/"), false).unwrap();
        let expected = identity(root(&tmp.path().join("a/b")).as_fd()).unwrap();
        assert_eq!(identity(b.as_fd()).unwrap(), expected);
        assert!(matches!(
            open_dir(start.as_fd(), Path::new("a/c/d"), false),
            Err(WalkError::Missing { at }) if at == Path::new("a/c")
        ));
        open_dir(start.as_fd(), Path::new("a/c/d"), true).unwrap();
        assert!(tmp.path().join("a/c/d").is_dir());
    }

    #[test]
    fn a_symlink_at_any_component_stops_the_walk_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("x/y")).unwrap();
        std::fs::create_dir_all(tmp.path().join("a")).unwrap();
        symlink(outside.path(), tmp.path().join("a/abs")).unwrap();
        symlink("../..", tmp.path().join("a/up")).unwrap();
        // Even a symlink that stays inside is refused: the walk never follows one.
        symlink(".", tmp.path().join("a/here")).unwrap();
        let start = root(tmp.path());
        for (path, at, target) in [
            ("a/abs", "a/abs", outside.path().to_str().unwrap()),
            ("a/abs/x/y", "a/abs", outside.path().to_str().unwrap()),
            ("a/up/x", "a/up", "../.."),
            ("a/here", "a/here", "."),
        ] {
            for create in [false, true] {
                match open_dir(start.as_fd(), Path::new(path), create) {
                    Err(WalkError::Symlink { at: a, target: t }) => {
                        assert_eq!(
                            (a.as_path(), t.as_path()),
                            (Path::new(at), Path::new(target))
                        );
                    }
                    other => panic!("{path}: {other:?}"),
                }
            }
        }
        // Nothing was created through the links.
        assert!(!outside.path().join("x/y").read_dir().unwrap().any(|_| true));
    }

    #[test]
    fn a_file_is_not_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f"), "").unwrap();
        let start = root(tmp.path());
        assert!(matches!(
            open_dir(start.as_fd(), Path::new("f/g"), true),
            Err(WalkError::NotADirectory { at }) if at == Path::new("f")
        ));
    }

    #[test]
    fn the_descriptor_path_reaches_the_opened_directory_after_a_swap() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("grant")).unwrap();
        std::fs::write(tmp.path().join("grant/inside.txt"), "in").unwrap();
        let start = root(tmp.path());
        let grant = open_dir(start.as_fd(), Path::new("grant"), false).unwrap();
        // The grant is swapped for a symlink out after it was opened.
        std::fs::rename(tmp.path().join("grant"), tmp.path().join("moved")).unwrap();
        symlink(outside.path(), tmp.path().join("grant")).unwrap();
        let reopened = root(&descriptor_path(grant.as_fd()));
        assert_eq!(
            identity(reopened.as_fd()).unwrap(),
            identity(grant.as_fd()).unwrap()
        );
        let names: Vec<_> = std::fs::read_dir(descriptor_path(grant.as_fd()))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["inside.txt"]);
    }
}
