//! Streaming between the engine and granted files: compressed with zstd and
//! hashed with sha256 on the way, in chunks, so a multi-gigabyte dump costs the
//! runner a few buffers of memory.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::ZstdDecoder;
use async_compression::tokio::write::ZstdEncoder;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::plugin::bindings::container::{Compression, FileInfo};

/// The last bytes of a stream, for completion markers and error messages.
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
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > self.limit {
            let excess = self.bytes.len() - self.limit;
            self.bytes.drain(..excess);
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
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

/// A granted file being written from a stream.
pub struct FileSink {
    writer: Writer,
    /// Bytes received, before compression.
    pub raw_bytes: u64,
    pub tail: Tail,
}

impl FileSink {
    /// Creates (or truncates) `path`.
    pub async fn create(path: &Path, compression: Compression) -> std::io::Result<FileSink> {
        let file = tokio::fs::File::create(path).await?;
        let hashing = Hashing {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
        };
        let writer = match compression {
            Compression::None => Writer::Plain(hashing),
            Compression::Zstd => Writer::Zstd(ZstdEncoder::new(hashing)),
        };
        Ok(FileSink {
            writer,
            raw_bytes: 0,
            tail: Tail::new(4096),
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.raw_bytes += chunk.len() as u64;
        self.tail.push(chunk);
        match &mut self.writer {
            Writer::Plain(w) => w.write_all(chunk).await,
            Writer::Zstd(w) => w.write_all(chunk).await,
        }
    }

    /// Ends the compressed frame, syncs the file to disk, and reports it.
    pub async fn finish(self) -> std::io::Result<(FileInfo, u64, Vec<u8>)> {
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
        hashing.inner.sync_all().await?;
        let info = FileInfo {
            bytes: hashing.bytes,
            sha256: hex::encode(hashing.hasher.finalize()),
        };
        Ok((info, self.raw_bytes, self.tail.into_bytes()))
    }
}

/// A granted file read as a stream, decompressed when asked.
pub async fn open(
    path: &Path,
    compression: Compression,
) -> std::io::Result<Pin<Box<dyn AsyncRead + Send>>> {
    let file = BufReader::with_capacity(256 << 10, tokio::fs::File::open(path).await?);
    Ok(match compression {
        Compression::None => Box::pin(file),
        Compression::Zstd => Box::pin(ZstdDecoder::new(file)),
    })
}
