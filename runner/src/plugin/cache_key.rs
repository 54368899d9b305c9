//! The compile cache's key: 32 random bytes, one per user, that only the
//! runner reads. Every compiled file the cache writes carries an HMAC-SHA256
//! under this key; a file whose MAC does not verify was not written by this
//! user's runner and is never deserialised.
//!
//! The key lives apart from the cache (`RUN_CACHE_KEY`, else
//! `~/.local/share/run/cache.key`), because whoever can write the cache
//! directory (a task granted it in another run, a CI cache restored from an
//! untrusted job) must not also be able to read the key. It is created with
//! mode 0600, in a directory created 0700, and refused when anyone else could
//! read it, when it belongs to another user, or when it is a symlink.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const LEN: usize = 32;

/// The length of a MAC (an HMAC-SHA256 tag).
pub const TAG_LEN: usize = 32;

/// Where the key lives: `RUN_CACHE_KEY`, else the user's data directory.
pub fn path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RUN_CACHE_KEY") {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("", "", "run").map(|d| d.data_local_dir().join("cache.key"))
}

/// The secret behind the cache's MACs.
pub struct Key([u8; LEN]);

/// Why the key cannot be used (the cache is then not used either).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the cache key {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the cache key {} is not a regular file (a symlink is refused)", path.display())]
    NotAFile { path: PathBuf },
    #[error("the cache key {} can be read by other users (mode {mode:o}); it must be 0600", path.display())]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the cache key {} belongs to uid {owner}, not to this user (uid {uid})", path.display())]
    Owner { path: PathBuf, owner: u32, uid: u32 },
    #[error("the cache key {} is {len} bytes long, not {LEN}", path.display())]
    Length { path: PathBuf, len: u64 },
}

impl Key {
    /// Reads the key at `path`, creating it on first use.
    pub fn load_or_create(path: &Path) -> Result<Key, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match open(path) {
            Ok(file) => read(path, file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create(path).map_err(io)?;
                read(path, open(path).map_err(io)?)
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(KeyError::NotAFile {
                path: path.to_owned(),
            }),
            Err(e) => Err(io(e)),
        }
    }

    /// The MAC of `message`, given in parts (each length-prefixed, so that
    /// moving bytes from one part to the next changes the MAC).
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        self.mac(parts).finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.mac(parts).verify_slice(tag).is_ok()
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac
    }

    #[cfg(test)]
    pub fn for_tests(byte: u8) -> Key {
        Key([byte; LEN])
    }
}

/// Opens without following a symlink at the last component.
fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

fn read(path: &Path, mut file: File) -> Result<Key, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(KeyError::NotAFile {
            path: path.to_owned(),
        });
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Err(KeyError::Owner {
            path: path.to_owned(),
            owner: meta.uid(),
            uid,
        });
    }
    if meta.mode() & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.to_owned(),
            mode: meta.mode() & 0o7777,
        });
    }
    if meta.len() != LEN as u64 {
        return Err(KeyError::Length {
            path: path.to_owned(),
            len: meta.len(),
        });
    }
    let mut key = [0; LEN];
    file.read_exact(&mut key).map_err(io)?;
    Ok(Key(key))
}

/// Writes a fresh key: a 0600 temporary file, published by a hard link that
/// fails if another run created the key first (then that key is used), so a
/// half-written key is never read.
fn create(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut key = [0; LEN];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    // tempfile creates its files 0600.
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(&key)?;
    temp.as_file().sync_all()?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.error),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_key_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/run/cache.key");
        let first = Key::load_or_create(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let again = Key::load_or_create(&path).unwrap();
        assert_eq!(first.0, again.0);
        assert_ne!(first.0, [0; LEN]);
    }

    #[test]
    fn a_key_others_can_read_or_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.key");
        Key::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Key::load_or_create(&path),
            Err(KeyError::Exposed { mode: 0o644, .. })
        ));

        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(matches!(
            Key::load_or_create(&link),
            Err(KeyError::NotAFile { .. })
        ));

        let short = dir.path().join("short.key");
        std::fs::write(&short, b"short").unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            Key::load_or_create(&short),
            Err(KeyError::Length { len: 5, .. })
        ));
    }

    #[test]
    fn the_tag_binds_every_part_and_its_boundaries() {
        let key = Key::for_tests(7);
        let tag = key.tag(&[b"ab", b"c"]);
        assert!(key.verify(&[b"ab", b"c"], &tag));
        assert!(!key.verify(&[b"a", b"bc"], &tag));
        assert!(!key.verify(&[b"ab", b"d"], &tag));
        assert!(!Key::for_tests(8).verify(&[b"ab", b"c"], &tag));
        assert!(!key.verify(&[b"ab", b"c"], &tag[..31]));
    }
}
