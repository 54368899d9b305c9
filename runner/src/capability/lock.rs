//! The `lock` interface: exclusive locks between runs on a file in a
//! write-granted directory.
//!
//! A lock is the operating system's exclusive file lock (`flock`), held by the
//! runner on the plugin's behalf and released when the store is dropped (the
//! task ended) or when the process dies, even by SIGKILL: a crashed run never
//! leaves a stale lock, which a lock file created with `O_EXCL` would. The
//! holder writes who it is into the file, so a refused run can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use wasmtime::component::HasData;

use crate::capability::cancel;
use crate::capability::container::paths::{self, PathError};
use crate::capability::files::Preopen;
use crate::plugin::bindings::lock::{Host, LockError};

/// How often a waiting `acquire` tries again.
const RETRY: Duration = Duration::from_millis(100);

/// One plugin store's locks.
pub struct LockHost {
    task: String,
    preopens: Vec<Preopen>,
    dry_run: bool,
    /// Open files whose locks this task holds; closing them releases the locks.
    held: Vec<(PathBuf, File)>,
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
        }
    }

    /// A host without grants (for `describe`): every lock is denied.
    pub fn none(plugin: &str) -> LockHost {
        LockHost::new(plugin, Vec::new(), false)
    }

    async fn acquire(&mut self, guest: &str, wait: Duration) -> Result<(), LockError> {
        let path = paths::resolve(&self.preopens, guest, true).map_err(|e| match e {
            PathError::NotGranted(..) | PathError::Escapes(_) => LockError::Denied(e.to_string()),
        })?;
        if self.dry_run {
            return Ok(());
        }
        if self.held.iter().any(|(p, _)| *p == path) {
            return Ok(());
        }
        let io = |e: std::io::Error| LockError::Io(format!("lock file `{guest}`: {e}"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
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
        tracing::debug!(task = %self.task, lock = %path.display(), "lock taken");
        self.held.push((path, file));
        Ok(())
    }
}

/// Who holds a lock, as the holder wrote it.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    match text.trim() {
        "" => "another run (it has not said who it is yet)".to_owned(),
        who => who.to_owned(),
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
    ) -> wasmtime::Result<Result<(), LockError>> {
        Ok(LockHost::acquire(self, &path, Duration::from_millis(wait_millis)).await)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn host(dir: &Path, task: &str) -> LockHost {
        LockHost::new(
            task,
            vec![Preopen {
                host: dir.to_path_buf(),
                guest: "state".into(),
                writable: true,
            }],
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
                    assert!(
                        who.starts_with(&format!("pid {}, task one, since ", std::process::id())),
                        "{who}"
                    );
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
