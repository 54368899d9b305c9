//! Streaming between the engine and granted files: compressed with zstd and
//! hashed with sha256 on the way, in chunks, so a multi-gigabyte dump costs the
//! runner a few buffers of memory. Files are opened by `paths` only.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::ZstdDecoder;
use async_compression::tokio::write::ZstdEncoder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use super::backend::{ByteStream, EngineError};
use crate::plugin::bindings::engine_types::{Compression, FileInfo};

/// How much is read from a file at a time.
pub const CHUNK: usize = 256 << 10;

/// The last bytes of a stream, for completion markers and error messages.
#[derive(Debug)]
pub struct Tail {
    bytes: Vec<u8>,
    limit: usize,
}

impl Tail {
    pub fn new(limit: usize) -> Tail {
        Tail {
            bytes: Vec::new(),
            limit,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= self.limit {
            self.bytes.clear();
            self.bytes
                .extend_from_slice(&chunk[chunk.len() - self.limit..]);
            return;
        }
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > self.limit {
            let excess = self.bytes.len() - self.limit;
            self.bytes.drain(..excess);
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes as text (a character cut at the start shows as U+FFFD).
    pub fn into_text(self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The first bytes of a stream, up to a limit.
#[derive(Debug)]
pub struct Head {
    pub bytes: Vec<u8>,
    limit: usize,
}

impl Head {
    pub fn new(limit: usize) -> Head {
        Head {
            bytes: Vec::new(),
            limit,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let room = self.limit.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// Counts and hashes what reaches the file (after compression).
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Hashing<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let written = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.hasher.update(&buf[..written]);
        this.bytes += written as u64;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

enum Writer {
    Plain(Hashing<tokio::fs::File>),
    Zstd(ZstdEncoder<Hashing<tokio::fs::File>>),
}

/// A granted file being written from a stream. It is written under a
/// temporary name and renamed into place by `finish`; dropped before that, it
/// is removed, so no partial file is left looking complete.
pub struct FileSink {
    writer: Writer,
    new: crate::capability::paths::NewFile,
    /// Bytes received, before compression.
    pub raw_bytes: u64,
    pub tail: Tail,
}

/// What a finished sink wrote.
pub struct Written {
    pub info: FileInfo,
    /// Bytes received, before compression.
    pub raw_bytes: u64,
    /// The last 4 KiB received, before compression.
    pub tail: Vec<u8>,
}

impl FileSink {
    /// Writes into `file` (made by `paths::create_write`, with `new`).
    pub fn new(
        file: tokio::fs::File,
        new: crate::capability::paths::NewFile,
        compression: Compression,
    ) -> FileSink {
        let hashing = Hashing {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
        };
        let writer = match compression {
            Compression::None => Writer::Plain(hashing),
            Compression::Zstd => Writer::Zstd(ZstdEncoder::new(hashing)),
        };
        FileSink {
            writer,
            new,
            raw_bytes: 0,
            tail: Tail::new(4096),
        }
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.raw_bytes += chunk.len() as u64;
        self.tail.push(chunk);
        match &mut self.writer {
            Writer::Plain(w) => w.write_all(chunk).await,
            Writer::Zstd(w) => w.write_all(chunk).await,
        }
    }

    /// Ends the compressed frame, syncs the file to disk, renames it into
    /// place, and reports it.
    pub async fn finish(self) -> std::io::Result<Written> {
        let hashing = match self.writer {
            Writer::Plain(mut w) => {
                w.flush().await?;
                w
            }
            Writer::Zstd(mut w) => {
                w.shutdown().await?;
                w.into_inner()
            }
        };
        self.new
            .commit(hashing.inner)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Written {
            info: FileInfo {
                bytes: hashing.bytes,
                sha256: hex::encode(hashing.hasher.finalize()),
            },
            raw_bytes: self.raw_bytes,
            tail: self.tail.into_bytes(),
        })
    }
}

/// A granted file (opened by `paths::open_read`) as a reader, decompressed when asked.
pub fn reader(file: tokio::fs::File, compression: Compression) -> Pin<Box<dyn AsyncRead + Send>> {
    let file = BufReader::with_capacity(CHUNK, file);
    match compression {
        Compression::None => Box::pin(file),
        Compression::Zstd => Box::pin(ZstdDecoder::new(file)),
    }
}

/// A granted file as a stream of chunks for the engine; a read error names the file.
pub fn file_stream(
    file: tokio::fs::File,
    compression: Compression,
    guest: &str,
    address: &str,
) -> ByteStream {
    let guest = guest.to_owned();
    let address = address.to_owned();
    Box::pin(
        tokio_util::io::ReaderStream::with_capacity(reader(file, compression), CHUNK).map(
            move |chunk| {
                chunk.map_err(|e| EngineError::Failed {
                    address: address.clone(),
                    message: format!("reading `{guest}`: {e}"),
                })
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_bytes() {
        let mut tail = Tail::new(4);
        tail.push(b"ab");
        tail.push(b"cdef");
        assert_eq!(tail.into_bytes(), b"cdef");
        let mut tail = Tail::new(4);
        tail.push(b"0123456789");
        tail.push(b"x");
        assert_eq!(tail.into_bytes(), b"789x");
    }

    #[test]
    fn head_keeps_the_first_bytes() {
        let mut head = Head::new(3);
        head.push(b"ab");
        head.push(b"cdef");
        assert_eq!(head.bytes, b"abc");
    }
}
