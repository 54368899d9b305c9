//! Lines of a dump served straight out of one large read buffer.
//!
//! `BufRead::read_until` copies every line into a second buffer; here a line
//! is a slice of the read buffer, so a row costs one `memchr` and nothing
//! else until somebody looks at it. A COPY block nobody needs is skipped with
//! one search for its `\.` line.

use std::io::{self, Read};

/// The read buffer; it grows only for a line longer than this.
const BUFFER: usize = 1 << 20;

pub struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    /// The first byte not handed out yet.
    start: usize,
    /// The end of the bytes read.
    end: usize,
    eof: bool,
    /// Lines handed out (the 1-based number of the last one).
    line: usize,
    /// Bytes handed out.
    bytes: u64,
}

impl<R: Read> Lines<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            line: 0,
            bytes: 0,
        }
    }

    /// The 1-based number of the line last returned.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Bytes returned so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// At least `n` bytes ahead (fewer at the end of the input), without
    /// consuming them: for recognising a file's format by its first bytes.
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.start < n && !self.eof {
            self.fill()?;
        }
        let to = self.end.min(self.start + n);
        Ok(&self.buf[self.start..to])
    }

    /// The next line with its `\n` (the last line may lack one).
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        let mut searched = self.start;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[searched..self.end]) {
                let from = self.start;
                let to = searched + i + 1;
                return Ok(Some(self.take(from, to)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let (from, to) = (self.start, self.end);
                return Ok(Some(self.take(from, to)));
            }
            // Only the new bytes need searching after a fill.
            let done = self.end - self.start;
            self.fill()?;
            searched = self.start + done;
        }
    }

    /// Skips the rest of a COPY block, its `\.` line included: returns the
    /// number of rows skipped, or `None` when the input ends first.
    pub fn skip_copy_block(&mut self) -> io::Result<Option<u64>> {
        self.pass_copy_block(|_| Ok(()))
    }

    /// Like [`Lines::skip_copy_block`], handing every byte passed over (the
    /// `\.` line included) to `sink`, in large pieces.
    pub fn pass_copy_block(
        &mut self,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Option<u64>> {
        let mut rows = 0u64;
        loop {
            let window = &self.buf[self.start..self.end];
            // The end marker is a whole line: at the start of the window, or
            // after a newline inside it.
            let found = if window.starts_with(b"\\.\n") || (self.eof && window == b"\\.") {
                Some(0)
            } else {
                memchr::memmem::find(window, b"\n\\.\n").map(|i| i + 1)
            };
            if let Some(at) = found {
                let last = memchr::memchr_iter(b'\n', &window[..at]).count();
                rows += last as u64;
                let end = (self.start + at + 3).min(self.end);
                sink(&self.buf[self.start..end])?;
                self.line += last + 1;
                self.bytes += (end - self.start) as u64;
                self.start = end;
                return Ok(Some(rows));
            }
            if self.eof {
                return Ok(None);
            }
            // Consume every complete line, but leave the last newline in
            // the window: `\n\.\n` may straddle the next read.
            let keep = memchr::memrchr(b'\n', window).unwrap_or(0);
            let complete = memchr::memchr_iter(b'\n', &window[..keep]).count() as u64;
            rows += complete;
            sink(&self.buf[self.start..self.start + keep])?;
            self.line += complete as usize;
            self.bytes += keep as u64;
            self.start += keep;
            self.fill()?;
        }
    }

    fn take(&mut self, from: usize, to: usize) -> &[u8] {
        self.start = to;
        self.line += 1;
        self.bytes += (to - from) as u64;
        &self.buf[from..to]
    }

    /// Moves the unread bytes to the front, grows the buffer if it is full
    /// of one line, and reads more.
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    /// A reader that hands out at most `n` bytes per read, to cross every
    /// buffer boundary.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn lines(text: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut lines = Lines::new(Trickle(text, step));
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().unwrap() {
            out.push(l.to_vec());
        }
        out
    }

    #[test]
    fn lines_keep_their_newlines_and_the_last_may_lack_one() {
        for step in [1, 3, 1 << 20] {
            assert_eq!(
                lines(b"a\n\nbc\nd", step),
                [&b"a\n"[..], b"\n", b"bc\n", b"d"]
            );
        }
        assert!(lines(b"", 1).is_empty());
    }

    #[test]
    fn a_line_longer_than_the_buffer_grows_it() {
        let long = vec![b'x'; (1 << 20) * 2 + 5];
        let mut text = long.clone();
        text.extend_from_slice(b"\nend\n");
        let got = lines(&text, 1 << 16);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), long.len() + 1);
    }

    #[test]
    fn copy_blocks_are_skipped_to_their_end_marker() {
        let text = b"1\ta\n2\t\\\\.\n3\n\\.\nafter\n";
        for step in [1, 2, 5, 100] {
            let mut lines = Lines::new(Trickle(text, step));
            assert_eq!(lines.skip_copy_block().unwrap(), Some(3));
            assert_eq!(lines.line(), 4);
            assert_eq!(lines.next_line().unwrap().unwrap(), b"after\n");
        }
        let mut lines = Lines::new(&b"\\.\nx\n"[..]);
        assert_eq!(lines.skip_copy_block().unwrap(), Some(0));
        assert_eq!(lines.next_line().unwrap().unwrap(), b"x\n");
        let mut lines = Lines::new(&b"1\n2\n"[..]);
        assert_eq!(lines.skip_copy_block().unwrap(), None);
    }

    #[test]
    fn passed_blocks_reach_the_sink_whole() {
        let text = b"1\ta\n2\t\\\\.\n3\n\\.\nafter\n";
        for step in [1, 2, 5, 100] {
            let mut lines = Lines::new(Trickle(text, step));
            let mut seen = Vec::new();
            let rows = lines
                .pass_copy_block(|b| {
                    seen.extend_from_slice(b);
                    Ok(())
                })
                .unwrap();
            assert_eq!(rows, Some(3));
            assert_eq!(seen, &text[..text.len() - 6]);
        }
    }

    #[test]
    fn peek_does_not_consume() {
        let mut lines = Lines::new(Trickle(b"PGDMP rest\nx\n", 2));
        assert_eq!(lines.peek(5).unwrap(), b"PGDMP");
        assert_eq!(lines.next_line().unwrap().unwrap(), b"PGDMP rest\n");
    }
}
