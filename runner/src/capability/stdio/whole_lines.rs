//! Forwards a plugin's output by whole lines.
//!
//! A guest's `eprintln!("x = {x}")` reaches the host as several writes (Rust's
//! stderr is unbuffered: one per piece of the format string). Forwarded as
//! they came, the runner's own messages and other tasks' output could land in
//! the middle of the line. [`WholeLines`] holds a partial line until its end
//! arrives and hands each run of complete lines to the destination in one
//! write (tokio's stdout and stderr write each buffer whole, under the same
//! lock the runner's `say!` takes), so lines never interleave.
//!
//! A partial line is held until its newline, the end of the task (the runner
//! then releases it: [`Release`]), or [`MAX_PARTIAL_LINE`] bytes: a line
//! longer than that is forwarded in pieces rather than held without bound.
//! The guest's own flushes do not release it: a WASI guest flushes after
//! every write (Rust's std calls `blocking-write-and-flush`). A task stopped
//! before its end (timeout, Ctrl-C) drops the writer; the held piece is then
//! written synchronously, so it is not lost either.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::AsyncWrite;

/// The longest partial line held back.
pub const MAX_PARTIAL_LINE: usize = 16 << 10;

/// Set by the runner when the task's output is complete: the next flush
/// then forwards a last line that has no newline.
#[derive(Clone, Default)]
pub struct Release(Arc<AtomicBool>);

impl Release {
    pub fn release(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn released(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Where a held piece goes when the writer is dropped before its release.
pub type Leftover = Box<dyn FnOnce(&[u8]) + Send + Sync>;

pub struct WholeLines<W> {
    inner: W,
    /// The start of a line whose end has not arrived.
    partial: Vec<u8>,
    release: Release,
    leftover: Option<Leftover>,
}

impl<W> WholeLines<W> {
    pub fn new(inner: W, release: Release, leftover: Leftover) -> Self {
        WholeLines {
            inner,
            partial: Vec::new(),
            release,
            leftover: Some(leftover),
        }
    }
}

impl<W> Drop for WholeLines<W> {
    fn drop(&mut self) {
        if !self.partial.is_empty()
            && let Some(leftover) = self.leftover.take()
        {
            leftover(&self.partial);
        }
    }
}

impl<W: AsyncWrite + Unpin> WholeLines<W> {
    /// Writes `partial` followed by `head` as one buffer and answers how many
    /// bytes of `head` were taken. Nothing is taken while the destination is
    /// busy (`Pending`), so the caller's retry with the same buffer is exact.
    fn poll_write_joined(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Poll<io::Result<usize>> {
        if self.partial.is_empty() {
            return Pin::new(&mut self.inner).poll_write(cx, head);
        }
        let mut joined = Vec::with_capacity(self.partial.len() + head.len());
        joined.extend_from_slice(&self.partial);
        joined.extend_from_slice(head);
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &joined))?;
        if written < self.partial.len() {
            self.partial.drain(..written);
            // Nothing of `head` taken yet; answering 0 would read as "closed".
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let taken = written - self.partial.len();
        self.partial.clear();
        Poll::Ready(Ok(taken))
    }

    fn poll_write_partial(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.partial.is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.partial))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.partial.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for WholeLines<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match last_newline(buf) {
            Some(last) => {
                let taken = ready!(this.poll_write_joined(cx, &buf[..=last]))?;
                if taken <= last {
                    // The destination took part of the lines: the caller
                    // passes the rest again.
                    return Poll::Ready(Ok(taken));
                }
                let tail = &buf[last + 1..];
                if tail.len() > MAX_PARTIAL_LINE {
                    return Poll::Ready(Ok(taken));
                }
                this.partial.extend_from_slice(tail);
                Poll::Ready(Ok(buf.len()))
            }
            None if this.partial.len() + buf.len() <= MAX_PARTIAL_LINE => {
                this.partial.extend_from_slice(buf);
                Poll::Ready(Ok(buf.len()))
            }
            // Too long to hold: forwarded in pieces.
            None => this.poll_write_joined(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.release.released() {
            ready!(self.poll_write_partial(cx))?;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_write_partial(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn last_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().rposition(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Records each write the destination receives.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl AsyncWrite for Writes {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn whole_lines() -> (WholeLines<Writes>, Release) {
        let release = Release::default();
        let out = WholeLines::new(Writes::default(), release.clone(), Box::new(|_| {}));
        (out, release)
    }

    fn text(writes: &Writes) -> Vec<String> {
        writes
            .0
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_line_written_in_pieces_is_forwarded_in_one_write() {
        let (mut out, _) = whole_lines();
        for piece in ["cleaning up for ", "60000", " ms", "\n"] {
            out.write_all(piece.as_bytes()).await.unwrap();
            // As a WASI guest does after every write.
            out.flush().await.unwrap();
        }
        assert_eq!(text(&out.inner), ["cleaning up for 60000 ms\n"]);
    }

    #[tokio::test]
    async fn complete_lines_go_out_at_once_and_the_rest_waits_for_its_end() {
        let (mut out, release) = whole_lines();
        out.write_all(b"one\ntwo\nthr").await.unwrap();
        assert_eq!(text(&out.inner), ["one\ntwo\n"]);
        out.write_all(b"ee\nfour").await.unwrap();
        out.flush().await.unwrap();
        assert_eq!(text(&out.inner), ["one\ntwo\n", "three\n"]);
        release.release();
        out.flush().await.unwrap();
        assert_eq!(text(&out.inner), ["one\ntwo\n", "three\n", "four"]);
    }

    #[tokio::test]
    async fn a_line_longer_than_the_limit_is_not_held_without_bound() {
        let (mut out, _) = whole_lines();
        let long = vec![b'x'; MAX_PARTIAL_LINE + 1];
        out.write_all(b"start ").await.unwrap();
        out.write_all(&long).await.unwrap();
        let forwarded: usize = out.inner.0.iter().map(Vec::len).sum();
        assert_eq!(forwarded, MAX_PARTIAL_LINE + 7);
        assert!(out.partial.is_empty());
    }

    #[tokio::test]
    async fn shutdown_forwards_a_last_line_without_newline() {
        let (mut out, _) = whole_lines();
        out.write_all(b"no newline").await.unwrap();
        assert!(out.inner.0.is_empty());
        out.shutdown().await.unwrap();
        assert_eq!(text(&out.inner), ["no newline"]);
    }

    #[tokio::test]
    async fn a_piece_held_when_the_writer_is_dropped_is_handed_over() {
        let handed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut out = WholeLines::new(
            Writes::default(),
            Release::default(),
            Box::new({
                let handed = handed.clone();
                move |piece: &[u8]| handed.lock().unwrap().extend_from_slice(piece)
            }),
        );
        out.write_all(b"stopped mid-").await.unwrap();
        drop(out);
        assert_eq!(*handed.lock().unwrap(), b"stopped mid-");
    }
}
