//! The `files` interface: a file the host writes for the plugin, hashing it
//! (SHA-256) as it writes, so a plugin that publishes a large output with
//! its digest (the sanitize plugin's snapshot and manifest) neither hashes
//! every byte again in wasm nor can name a digest other than that of the
//! bytes written.
//!
//! The path is checked and the file created like every host-side write of a
//! plugin-named file (`paths::create_write`): in a write grant, never
//! through a symlink, under a hidden temporary name that `commit` renames
//! into place; dropped before that (or left by a killed run), it never looks
//! complete.
//!
//! Writing happens on a blocking thread per file, fed through a bounded
//! queue: the plugin goes on computing while the host hashes and writes
//! (the second core does that work), and what the host holds per file is
//! bounded by `QUEUE` chunks of at most `MAX_WRITE` bytes; a task holds at
//! most `MAX_OPEN` files being written at once.
//!
//! A `read-file` is the other way: the host reads a granted file ahead of
//! the plugin on a blocking thread, in `READ_CHUNK` pieces, at most `QUEUE`
//! of them waiting, and the plugin takes them as they come; a task holds at
//! most `MAX_OPEN` of those too. `skip-through-line` passes over the
//! chunks up to a given line on the host (`skip::LineSearch`), so the
//! bytes of, say, a COPY block nobody looks at never enter the plugin.

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::capability::files::Preopen;
use crate::capability::files::skip::{self, LineSearch};
use crate::capability::paths::{self, NewFile, PathError};
use crate::grant::{Grant, GrantKind};
use crate::plugin::bindings::files::{
    FileError, Host, HostNewFile, HostReadFile, Skipped, Written,
};
use crate::plugin::bindings::types::{Denial, ObjectKind};

/// The most one `write` may carry.
pub const MAX_WRITE: usize = 4 << 20;
/// Chunks waiting to be written, per file.
const QUEUE: usize = 4;
/// Files a task may be writing at once (open, not yet finished), and
/// files it may have open for reading.
pub const MAX_OPEN: usize = 16;
/// What the host reads ahead at a time.
const READ_CHUNK: usize = 1 << 20;

/// One plugin store's files being written.
pub struct FilesHost {
    task: String,
    preopens: Vec<Preopen>,
    plan: bool,
    handles: ResourceTable,
    /// Files being written now (`Writing`), shared with their slots.
    writing: Arc<AtomicUsize>,
    /// Files open for reading, shared with their slots.
    reading: Arc<AtomicUsize>,
}

/// One of the `MAX_OPEN` places for a file being written, given back when
/// the file is finished, fails or is dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(writing: &Arc<AtomicUsize>) -> Option<Slot> {
        writing
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_OPEN).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(writing.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub struct Files;
impl HasData for Files {
    type Data<'a> = &'a mut FilesHost;
}

/// A `new-file` resource.
pub struct NewFileHandle {
    guest: String,
    state: State,
}

enum State {
    Writing {
        chunks: mpsc::Sender<Chunk>,
        writer: tokio::task::JoinHandle<io::Result<Hashed>>,
        new: NewFile,
        _slot: Slot,
    },
    Finished {
        file: File,
        new: NewFile,
        written: Written,
    },
    Committed,
    /// A write, finish or commit failed: the error, answered again.
    Failed(FileError),
}

enum Chunk {
    Bytes(Vec<u8>),
    /// Everything is sent: sync and answer the digest. A queue closed
    /// without it means the file was dropped: the writer stops.
    End,
}

struct Hashed {
    file: File,
    bytes: u64,
    sha256: String,
}

impl FilesHost {
    pub fn new(task: &str, preopens: Vec<Preopen>, plan: bool) -> FilesHost {
        FilesHost {
            task: task.to_owned(),
            preopens,
            plan,
            handles: ResourceTable::new(),
            writing: Arc::new(AtomicUsize::new(0)),
            reading: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A host without grants (for `describe` and `needs`): every file is
    /// denied.
    pub fn none(plugin: &str) -> FilesHost {
        FilesHost::new(plugin, Vec::new(), true)
    }

    /// The table holding this task's file handles (for its handle limit).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.handles
    }

    /// A refusal of `guest`, naming the grant of `kind` that would allow it.
    fn denial(&self, guest: &str, kind: GrantKind, reason: String) -> FileError {
        let dir = std::path::Path::new(guest)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".to_owned());
        let grant = Grant::new(kind, dir);
        let writing = kind == GrantKind::Write;
        let verb = if writing { "write" } else { "read" };
        tracing::warn!(task = %self.task, "refused to {verb} `{guest}`: {reason}");
        FileError::Denied(Denial {
            object: ObjectKind::File,
            name: guest.to_owned(),
            task: self.task.clone(),
            grant: Some(crate::plugin::wit::grant(&grant)),
            granted: self
                .preopens
                .iter()
                .filter(|p| p.writable || !writing)
                .map(|p| p.guest.clone())
                .collect(),
            reason: Some(reason),
        })
    }

    async fn create(&mut self, guest: &str) -> Result<NewFileHandle, FileError> {
        if self.plan {
            return Err(self.denial(
                guest,
                GrantKind::Write,
                "nothing is written under `run --plan`".to_owned(),
            ));
        }
        let Some(slot) = Slot::take(&self.writing) else {
            return Err(FileError::Io((
                guest.to_owned(),
                format!("this task is already writing {MAX_OPEN} files, the most at once"),
            )));
        };
        let (file, new) = paths::create_write(&self.preopens, guest)
            .await
            .map_err(|e| self.path_error(guest, GrantKind::Write, e))?;
        let file = file.into_std().await;
        let (chunks, queue) = mpsc::channel(QUEUE);
        let writer = tokio::task::spawn_blocking(move || write_all(file, queue));
        tracing::debug!(task = %self.task, file = %guest, "writing a new file");
        Ok(NewFileHandle {
            guest: guest.to_owned(),
            state: State::Writing {
                chunks,
                writer,
                new,
                _slot: slot,
            },
        })
    }
}

/// A `read-file` resource.
pub struct ReadFileHandle {
    guest: String,
    /// Chunks read ahead; an empty one is the end of the file.
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    /// The chunk being handed out, and how much of it was.
    current: Vec<u8>,
    taken: usize,
    end: bool,
    _slot: Slot,
}

impl FilesHost {
    async fn open_read(&mut self, guest: &str) -> Result<ReadFileHandle, FileError> {
        let Some(slot) = Slot::take(&self.reading) else {
            return Err(FileError::Io((
                guest.to_owned(),
                format!(
                    "this task already has {MAX_OPEN} files open for reading, the most at once"
                ),
            )));
        };
        let file = paths::open_read(&self.preopens, guest)
            .await
            .map_err(|e| self.path_error(guest, GrantKind::Read, e))?
            .into_std()
            .await;
        let (sender, chunks) = mpsc::channel(QUEUE);
        tokio::task::spawn_blocking(move || read_ahead(file, sender));
        Ok(ReadFileHandle {
            guest: guest.to_owned(),
            chunks,
            current: Vec::new(),
            taken: 0,
            end: false,
            _slot: slot,
        })
    }

    fn path_error(&self, guest: &str, kind: GrantKind, error: PathError) -> FileError {
        match error {
            PathError::NotGranted(..) | PathError::Escapes(_) | PathError::Symlink { .. } => {
                self.denial(guest, kind, error.to_string())
            }
            PathError::NotAFile(path) => {
                FileError::Io((path, "it is not a regular file".to_owned()))
            }
            PathError::Io(path, message) => FileError::Io((path, message)),
        }
    }
}

/// The reader thread: reads `file` to its end in chunks, until the plugin
/// drops it (the queue closes).
fn read_ahead(mut file: File, chunks: mpsc::Sender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = vec![0; READ_CHUNK];
        let mut filled = 0;
        let result = loop {
            match file.read(&mut chunk[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == chunk.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        chunk.truncate(filled);
        let end = result.is_ok() && chunk.is_empty();
        let failed = result.is_err();
        let message = result.map(|()| chunk);
        if chunks.blocking_send(message).is_err() || end || failed {
            return;
        }
    }
}

impl ReadFileHandle {
    async fn read(&mut self, max: u32) -> Result<Vec<u8>, FileError> {
        let max = (max as usize).min(MAX_WRITE);
        if self.taken == self.current.len() {
            if self.end {
                return Ok(Vec::new());
            }
            self.next_chunk().await?;
        }
        let n = max.min(self.current.len() - self.taken);
        if self.taken == 0 && n == self.current.len() {
            // The whole chunk: handed over, not copied.
            self.taken = 0;
            return Ok(std::mem::take(&mut self.current));
        }
        let piece = self.current[self.taken..self.taken + n].to_vec();
        self.taken += n;
        Ok(piece)
    }

    /// The next chunk read ahead, as the current one (empty at the end).
    async fn next_chunk(&mut self) -> Result<(), FileError> {
        match self.chunks.recv().await {
            Some(Ok(chunk)) => {
                self.end = chunk.is_empty();
                self.current = chunk;
                self.taken = 0;
                Ok(())
            }
            Some(Err(e)) => Err(io_error(&self.guest, &e)),
            None => Err(FileError::Io((
                self.guest.clone(),
                "the host stopped reading it".to_owned(),
            ))),
        }
    }

    /// Passes over the chunks through the first line equal to `line`. The
    /// work is the file's size at most, one `memchr` per line, and yields
    /// at every chunk that has to be waited for.
    async fn skip_through_line(
        &mut self,
        line: &[u8],
        mid_line: bool,
    ) -> Result<Skipped, FileError> {
        skip::check_line(line).map_err(|why| FileError::Io((self.guest.clone(), why)))?;
        let mut search = LineSearch::new(line, mid_line);
        loop {
            if self.taken == self.current.len() {
                if self.end {
                    let found = search.found_at_end();
                    return Ok(Skipped {
                        bytes: search.bytes,
                        lines: search.lines,
                        found,
                    });
                }
                self.next_chunk().await?;
                continue;
            }
            if let Some(n) = search.feed(&self.current[self.taken..]) {
                self.taken += n;
                return Ok(Skipped {
                    bytes: search.bytes,
                    lines: search.lines,
                    found: true,
                });
            }
            self.taken = self.current.len();
        }
    }
}

/// The writer thread: hashes and writes every chunk in order, then syncs.
fn write_all(mut file: File, mut queue: mpsc::Receiver<Chunk>) -> io::Result<Hashed> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    loop {
        match queue.blocking_recv() {
            Some(Chunk::Bytes(chunk)) => {
                hasher.update(&chunk);
                file.write_all(&chunk)?;
                bytes += chunk.len() as u64;
            }
            Some(Chunk::End) => break,
            None => {
                return Err(io::Error::other(
                    "the file was dropped before it was finished",
                ));
            }
        }
    }
    file.sync_all()?;
    Ok(Hashed {
        file,
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// A failure of the writer thread, for the plugin.
fn io_error(guest: &str, error: &io::Error) -> FileError {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            FileError::Full(guest.to_owned())
        }
        _ => FileError::Io((guest.to_owned(), error.to_string())),
    }
}

impl NewFileHandle {
    async fn write(&mut self, bytes: Vec<u8>) -> Result<(), FileError> {
        if bytes.len() > MAX_WRITE {
            return Err(FileError::Io((
                self.guest.clone(),
                format!(
                    "a write of {} bytes is over the limit of {MAX_WRITE} per call",
                    bytes.len()
                ),
            )));
        }
        match &self.state {
            State::Writing { chunks, .. } => {
                if chunks.send(Chunk::Bytes(bytes)).await.is_ok() {
                    return Ok(());
                }
                // The writer stopped: it failed; answer why.
                let error = self.stop().await;
                Err(error)
            }
            State::Finished { .. } | State::Committed => Err(FileError::Io((
                self.guest.clone(),
                "it is finished: nothing more can be written".to_owned(),
            ))),
            State::Failed(error) => Err(error.clone()),
        }
    }

    /// Waits for the writer after a failed send, and keeps its error.
    async fn stop(&mut self) -> FileError {
        let state = std::mem::replace(&mut self.state, State::Committed);
        let error = match state {
            State::Writing { writer, new, .. } => {
                let error = match writer.await {
                    Ok(Err(e)) => io_error(&self.guest, &e),
                    Ok(Ok(_)) => FileError::Io((self.guest.clone(), "writer ended".to_owned())),
                    Err(e) => FileError::Io((self.guest.clone(), e.to_string())),
                };
                new.discard().await;
                error
            }
            State::Failed(error) => error,
            other => {
                self.state = other;
                return FileError::Io((self.guest.clone(), "not being written".to_owned()));
            }
        };
        self.state = State::Failed(error.clone());
        error
    }

    async fn finish(&mut self) -> Result<Written, FileError> {
        let state = std::mem::replace(&mut self.state, State::Committed);
        match state {
            State::Writing {
                chunks,
                writer,
                new,
                ..
            } => {
                // A send that fails means the writer already stopped; its
                // result says why.
                let _ = chunks.send(Chunk::End).await;
                drop(chunks);
                let result = match writer.await {
                    Ok(Ok(hashed)) => Ok(hashed),
                    Ok(Err(e)) => Err(io_error(&self.guest, &e)),
                    Err(e) => Err(FileError::Io((self.guest.clone(), e.to_string()))),
                };
                match result {
                    Ok(hashed) => {
                        let written = Written {
                            bytes: hashed.bytes,
                            sha256: hashed.sha256,
                        };
                        self.state = State::Finished {
                            file: hashed.file,
                            new,
                            written: written.clone(),
                        };
                        Ok(written)
                    }
                    Err(error) => {
                        new.discard().await;
                        self.state = State::Failed(error.clone());
                        Err(error)
                    }
                }
            }
            State::Finished { file, new, written } => {
                self.state = State::Finished {
                    file,
                    new,
                    written: written.clone(),
                };
                Ok(written)
            }
            State::Committed => Err(FileError::Io((
                self.guest.clone(),
                "it is already committed".to_owned(),
            ))),
            State::Failed(error) => {
                self.state = State::Failed(error.clone());
                Err(error)
            }
        }
    }

    async fn commit(&mut self) -> Result<(), FileError> {
        let state = std::mem::replace(&mut self.state, State::Committed);
        match state {
            State::Finished { file, new, .. } => {
                let result = new.commit(tokio::fs::File::from_std(file)).await;
                result.map_err(|e| {
                    let error = match e {
                        PathError::Io(path, message) => FileError::Io((path, message)),
                        other => FileError::Io((self.guest.clone(), other.to_string())),
                    };
                    self.state = State::Failed(error.clone());
                    error
                })?;
                tracing::debug!(file = %self.guest, "new file committed");
                Ok(())
            }
            State::Committed => Ok(()),
            State::Writing { .. } => {
                self.state = state;
                Err(FileError::Io((
                    self.guest.clone(),
                    "it is not finished: call finish first".to_owned(),
                )))
            }
            State::Failed(error) => {
                self.state = State::Failed(error.clone());
                Err(error)
            }
        }
    }
}

impl Host for FilesHost {}

impl HostNewFile for FilesHost {
    async fn create(
        &mut self,
        path: String,
    ) -> wasmtime::Result<Result<Resource<NewFileHandle>, FileError>> {
        match FilesHost::create(self, &path).await {
            Ok(handle) => Ok(Ok(self.handles.push(handle)?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn write(
        &mut self,
        this: Resource<NewFileHandle>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), FileError>> {
        Ok(self.handles.get_mut(&this)?.write(bytes).await)
    }

    async fn finish(
        &mut self,
        this: Resource<NewFileHandle>,
    ) -> wasmtime::Result<Result<Written, FileError>> {
        Ok(self.handles.get_mut(&this)?.finish().await)
    }

    async fn commit(
        &mut self,
        this: Resource<NewFileHandle>,
    ) -> wasmtime::Result<Result<(), FileError>> {
        Ok(self.handles.get_mut(&this)?.commit().await)
    }

    async fn path(&mut self, this: Resource<NewFileHandle>) -> wasmtime::Result<String> {
        Ok(self.handles.get(&this)?.guest.clone())
    }

    async fn drop(&mut self, this: Resource<NewFileHandle>) -> wasmtime::Result<()> {
        // Dropping the queue stops the writer; dropping the `NewFile`
        // removes the temporary file, unless it was committed.
        let handle = self.handles.delete(this)?;
        drop(handle);
        Ok(())
    }
}

impl HostReadFile for FilesHost {
    async fn open(
        &mut self,
        path: String,
    ) -> wasmtime::Result<Result<Resource<ReadFileHandle>, FileError>> {
        match FilesHost::open_read(self, &path).await {
            Ok(handle) => Ok(Ok(self.handles.push(handle)?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn read(
        &mut self,
        this: Resource<ReadFileHandle>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, FileError>> {
        Ok(self.handles.get_mut(&this)?.read(max).await)
    }

    async fn skip_through_line(
        &mut self,
        this: Resource<ReadFileHandle>,
        line: Vec<u8>,
        mid_line: bool,
    ) -> wasmtime::Result<Result<Skipped, FileError>> {
        Ok(self
            .handles
            .get_mut(&this)?
            .skip_through_line(&line, mid_line)
            .await)
    }

    async fn drop(&mut self, this: Resource<ReadFileHandle>) -> wasmtime::Result<()> {
        // Closing the queue stops the reader thread at its next chunk.
        self.handles.delete(this)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
