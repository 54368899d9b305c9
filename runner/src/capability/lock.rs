//! The `lock` interface: exclusive locks between runs on a file in a
//! write-granted directory.
//!
//! A lock is the operating system's exclusive file lock (`flock`), held by the
//! runner on the plugin's behalf and released when the store is dropped (the
//! task ended) or when the process dies, even by SIGKILL: a crashed run never
//! leaves a stale lock, which a lock file created with `O_EXCL` would. The
//! holder writes who it is into the file, so a refused run can say who holds it.
//!
//! The lock file is opened beneath the grant's opened directory without
//! following a symlink at any component, itself included (`paths::open_lock`):
//! a lock file a plugin replaced with a symlink is refused, naming it, rather
//! than created or truncated wherever the link points.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::time::{Duration, Instant, SystemTime};

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::capability::cancel;
use crate::capability::files::Preopen;
use crate::capability::paths::{self, PathError};
use crate::grant::{Grant, GrantKind};
use crate::plugin::bindings::lock::{Holder, Host, HostHeldLock, LockError};
use crate::plugin::bindings::types::{Denial, ObjectKind};

/// How often a waiting `acquire` tries again.
const RETRY: Duration = Duration::from_millis(100);

/// One plugin store's locks.
pub struct LockHost {
    task: String,
    preopens: Vec<Preopen>,
    dry_run: bool,
    /// Open files whose locks this task holds (by device and inode), with
    /// how many handles refer to each; closing a file releases its lock.
    held: Vec<(FileId, File, usize)>,
    handles: ResourceTable,
}

/// Which file: device and inode.
type FileId = (u64, u64);

/// A `held-lock` resource.
pub struct HeldLock {
    guest: String,
    /// The file locked; `None` under `--dry-run`, where nothing is locked.
    file: Option<FileId>,
}

pub struct Lock;
impl HasData for Lock {
    type Data<'a> = &'a mut LockHost;
}

impl LockHost {
    pub fn new(task: &str, preopens: Vec<Preopen>, dry_run: bool) -> LockHost {
        LockHost {
            task: task.to_owned(),
            preopens,
            dry_run,
            held: Vec::new(),
            handles: ResourceTable::new(),
        }
    }

    /// A host without grants (for `describe`): every lock is denied.
    pub fn none(plugin: &str) -> LockHost {
        LockHost::new(plugin, Vec::new(), false)
    }

    /// The table holding this task's lock handles (for its handle limit).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.handles
    }

    /// The task whose plugin this store runs (for the WASI link guard's
    /// warnings, which have no state of their own).
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The task's opened file grants.
    pub fn preopens(&self) -> &[Preopen] {
        &self.preopens
    }

    fn denial(&self, guest: &str, reason: String) -> LockError {
        let dir = std::path::Path::new(guest)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".to_owned());
        let grant = Grant::new(GrantKind::Write, dir);
        LockError::Denied(Denial {
            object: ObjectKind::Lock,
            name: guest.to_owned(),
            task: self.task.clone(),
            grant: Some(crate::plugin::wit::grant(&grant)),
            granted: self
                .preopens
                .iter()
                .filter(|p| p.writable)
                .map(|p| p.guest.clone())
                .collect(),
            reason: Some(reason),
        })
    }

    async fn acquire(&mut self, guest: &str, wait: Duration) -> Result<Option<FileId>, LockError> {
        let refused = |e: PathError| match e {
            PathError::NotGranted(..) | PathError::Escapes(_) | PathError::Symlink { .. } => {
                self.denial(guest, e.to_string())
            }
            PathError::NotAFile(path) => LockError::Io((path, "not a regular file".to_owned())),
            PathError::Io(path, message) => LockError::Io((path, message)),
        };
        if self.dry_run {
            paths::check(&self.preopens, guest, true).map_err(refused)?;
            return Ok(None);
        }
        let (mut file, id) = paths::open_lock(&self.preopens, guest).map_err(refused)?;
        if let Some(entry) = self.held.iter_mut().find(|(held, _, _)| *held == id) {
            entry.2 += 1;
            return Ok(Some(id));
        }
        let io = |e: std::io::Error| LockError::Io((guest.to_owned(), e.to_string()));
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || cancel::sleep(left.min(RETRY)).await {
                        return Err(LockError::Held(holder(&mut file)));
                    }
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        describe_holder(&mut file, &self.task).map_err(io)?;
        tracing::debug!(task = %self.task, lock = %guest, "lock taken");
        self.held.push((id, file, 1));
        Ok(Some(id))
    }

    fn release(&mut self, id: FileId) {
        if let Some(i) = self.held.iter().position(|(held, _, _)| *held == id) {
            self.held[i].2 -= 1;
            if self.held[i].2 == 0 {
                self.held.remove(i);
            }
        }
    }
}

/// Who holds a lock, as the holder wrote it (`pid N, task T, since TIME`).
fn holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    let text = text.trim();
    let field = |prefix: &str| {
        text.split(", ")
            .find_map(|part| part.strip_prefix(prefix))
            .map(str::to_owned)
    };
    Holder {
        pid: field("pid ").and_then(|p| p.parse().ok()).unwrap_or(0),
        task: field("task ").unwrap_or_else(|| "another run".to_owned()),
        since: field("since ").unwrap_or_default(),
    }
}

/// Replaces the file's contents with this run's description.
fn describe_holder(file: &mut File, task: &str) -> std::io::Result<()> {
    let since = humantime::format_rfc3339_seconds(SystemTime::now());
    file.set_len(0)?;
    file.rewind()?;
    writeln!(
        file,
        "pid {}, task {task}, since {since}",
        std::process::id()
    )
}

impl Host for LockHost {
    async fn acquire(
        &mut self,
        path: String,
        wait_millis: u64,
    ) -> wasmtime::Result<Result<Resource<HeldLock>, LockError>> {
        match LockHost::acquire(self, &path, Duration::from_millis(wait_millis)).await {
            Ok(file) => Ok(Ok(self.handles.push(HeldLock { guest: path, file })?)),
            Err(e) => Ok(Err(e)),
        }
    }
}

impl HostHeldLock for LockHost {
    async fn path(&mut self, this: Resource<HeldLock>) -> wasmtime::Result<String> {
        Ok(self.handles.get(&this)?.guest.clone())
    }

    async fn drop(&mut self, this: Resource<HeldLock>) -> wasmtime::Result<()> {
        let lock = self.handles.delete(this)?;
        if let Some(id) = lock.file {
            self.release(id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn host(dir: &Path, task: &str) -> LockHost {
        LockHost::new(
            task,
            vec![Preopen::trusted(dir, "state", true).unwrap()],
            false,
        )
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_second_holder_is_told_who_holds_the_lock_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = host(dir.path(), "one");
        let mut second = host(dir.path(), "two");
        block_on(async {
            first.acquire("state/x.lock", Duration::ZERO).await.unwrap();
            // Taking it again in the same task is a no-op.
            first.acquire("state/x.lock", Duration::ZERO).await.unwrap();
            match second
                .acquire("state/x.lock", Duration::from_millis(250))
                .await
            {
                Err(LockError::Held(who)) => {
                    assert_eq!((who.pid, who.task.as_str()), (std::process::id(), "one"));
                    assert!(!who.since.is_empty());
                }
                other => panic!("{other:?}"),
            }
            drop(first);
            second
                .acquire("state/x.lock", Duration::ZERO)
                .await
                .unwrap();
        });
        let text = std::fs::read_to_string(dir.path().join("x.lock")).unwrap();
        assert!(text.contains("task two"), "{text}");
    }

    #[test]
    fn only_write_granted_paths_can_be_locked() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host(dir.path(), "t");
        block_on(async {
            for path in ["elsewhere/x.lock", "state/../x.lock", "/etc/x.lock"] {
                assert!(
                    matches!(
                        host.acquire(path, Duration::ZERO).await,
                        Err(LockError::Denied(_))
                    ),
                    "{path}"
                );
            }
        });
    }
}
