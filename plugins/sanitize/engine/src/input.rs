//! Lines of a dump served straight out of one large read buffer.
//!
//! `BufRead::read_until` copies every line into a second buffer; here a line
//! is a slice of the read buffer, so a row costs one `memchr` and nothing
//! else until somebody looks at it. A COPY block nobody needs is skipped with
//! one search for its `\.` line; an [`Input`] that can search itself (the
//! plugin's dump, which the host reads) does that search, and the block's
//! bytes are never handed over.

use std::io::{self, BufReader, Read};

/// A dump being read: a reader that may pass over a run of lines itself.
pub trait Input: Read {
    /// Passes over the input through the first line that is exactly `line`
    /// (no newline in it), ended by a newline or the end of the input;
    /// `mid_line`: the input is inside a line that is not `line`. `None`
    /// when this input cannot (the lines are then read and searched here).
    fn skip_through_line(&mut self, line: &[u8], mid_line: bool) -> io::Result<Option<Skipped>> {
        let _ = (line, mid_line);
        Ok(None)
    }
}

/// What [`Input::skip_through_line`] passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Bytes, the line and its newline included.
    pub bytes: u64,
    /// Newlines before the line.
    pub lines: u64,
    /// Whether the line was found (else the input ended).
    pub found: bool,
}

impl Input for &[u8] {}
impl<R: Read> Input for BufReader<R> {}
impl Input for std::fs::File {}

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

/// Where a COPY block's end marker is, seen from the window.
enum End {
    /// Found and consumed.
    Found,
    /// The input ended without it.
    Missing,
    /// Not in the window.
    NotHere,
}

impl<R: Input> Lines<R> {
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
        let mut rows = 0u64;
        loop {
            match self.find_end_marker(&mut rows, &mut |_| Ok(()))? {
                End::Found => return Ok(Some(rows)),
                End::Missing => return Ok(None),
                End::NotHere => {}
            }
            // No end marker in the window: its complete lines are rows. The
            // input may search the rest itself, unless the last (partial)
            // line could still be the marker.
            let window = &self.buf[self.start..self.end];
            let tail = memchr::memrchr(b'\n', window).map_or(0, |i| i + 1);
            let partial = &window[tail..];
            if partial.is_empty() || !b"\\.".starts_with(partial) {
                let complete = memchr::memchr_iter(b'\n', &window[..tail]).count() as u64;
                let held = window.len() as u64;
                if let Some(skipped) = self.input.skip_through_line(b"\\.", !partial.is_empty())? {
                    let passed = complete + skipped.lines;
                    rows += passed;
                    self.line += passed as usize;
                    self.bytes += held + skipped.bytes;
                    self.start = 0;
                    self.end = 0;
                    if !skipped.found {
                        self.eof = true;
                        return Ok(None);
                    }
                    self.line += 1;
                    return Ok(Some(rows));
                }
            }
            self.consume_lines(&mut rows, &mut |_| Ok(()))?;
        }
    }

    /// Like [`Lines::skip_copy_block`], handing every byte passed over (the
    /// `\.` line included) to `sink`, in large pieces.
    pub fn pass_copy_block(
        &mut self,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Option<u64>> {
        let mut rows = 0u64;
        loop {
            match self.find_end_marker(&mut rows, &mut sink)? {
                End::Found => return Ok(Some(rows)),
                End::Missing => return Ok(None),
                End::NotHere => {}
            }
            self.consume_lines(&mut rows, &mut sink)?;
        }
    }

    /// Looks for the end of the COPY block in the window; when it is there,
    /// everything through its `\.` line is handed to `sink` and consumed,
    /// and its rows added to `rows`.
    fn find_end_marker(
        &mut self,
        rows: &mut u64,
        sink: &mut impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<End> {
        let window = &self.buf[self.start..self.end];
        // The end marker is a whole line: at the start of the window, or
        // after a newline inside it; at the end of the input, its newline
        // may be missing.
        let found = if window.starts_with(b"\\.\n") {
            Some(0)
        } else if let Some(i) = memchr::memmem::find(window, b"\n\\.\n") {
            Some(i + 1)
        } else if self.eof && window == b"\\." {
            Some(0)
        } else if self.eof && window.ends_with(b"\n\\.") {
            Some(window.len() - 2)
        } else {
            None
        };
        if let Some(at) = found {
            let last = memchr::memchr_iter(b'\n', &window[..at]).count();
            *rows += last as u64;
            let end = (self.start + at + 3).min(self.end);
            sink(&self.buf[self.start..end])?;
            self.line += last + 1;
            self.bytes += (end - self.start) as u64;
            self.start = end;
            return Ok(End::Found);
        }
        if !self.eof {
            return Ok(End::NotHere);
        }
        // Consumed to the end, so the line last read is the last one.
        let newlines = memchr::memchr_iter(b'\n', window).count();
        *rows += newlines as u64;
        sink(window)?;
        self.line += newlines;
        self.bytes += window.len() as u64;
        self.start = self.end;
        Ok(End::Missing)
    }

    /// Consumes every complete line of the window but leaves the last
    /// newline in it (`\n\.\n` may straddle the next read), and reads more.
    fn consume_lines(
        &mut self,
        rows: &mut u64,
        sink: &mut impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let window = &self.buf[self.start..self.end];
        let keep = memchr::memrchr(b'\n', window).unwrap_or(0);
        let complete = memchr::memchr_iter(b'\n', &window[..keep]).count() as u64;
        *rows += complete;
        sink(&self.buf[self.start..self.start + keep])?;
        self.line += complete as usize;
        self.bytes += keep as u64;
        self.start += keep;
        self.fill()
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

/// Inputs for tests: one that trickles, one that also searches itself.
#[cfg(test)]
pub(crate) mod testing {
    use std::io::{self, Read};

    use super::{Input, Skipped};

    /// A reader that hands out at most `n` bytes per read, to cross every
    /// buffer boundary.
    pub struct Trickle<'a>(pub &'a [u8], pub usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    impl Input for Trickle<'_> {}

    /// A trickle that passes over lines itself, as the plugin's dump (read
    /// by the host) does: the searches it was asked for are counted.
    pub struct Searching<'a> {
        pub input: Trickle<'a>,
        pub searches: usize,
    }

    impl<'a> Searching<'a> {
        pub fn new(text: &'a [u8], step: usize) -> Self {
            Searching {
                input: Trickle(text, step),
                searches: 0,
            }
        }
    }

    impl Read for Searching<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Input for Searching<'_> {
        /// Line by line, the plain way (the host's search is tested in the
        /// runner).
        fn skip_through_line(
            &mut self,
            line: &[u8],
            mid_line: bool,
        ) -> io::Result<Option<Skipped>> {
            self.searches += 1;
            let text = self.input.0;
            let mut at = 0;
            let mut lines = 0;
            let mut first = mid_line;
            while at < text.len() {
                let end = memchr::memchr(b'\n', &text[at..]).map(|i| at + i);
                let next = end.map_or(text.len(), |e| e + 1);
                if !first && &text[at..end.unwrap_or(text.len())] == line {
                    self.input.0 = &text[next..];
                    return Ok(Some(Skipped {
                        bytes: next as u64,
                        lines,
                        found: true,
                    }));
                }
                first = false;
                lines += u64::from(end.is_some());
                at = next;
            }
            self.input.0 = &[];
            Ok(Some(Skipped {
                bytes: text.len() as u64,
                lines,
                found: false,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;
    use super::testing::{Searching, Trickle};

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

    /// Skipping a block through an input that searches itself ends where
    /// reading through does, with the same rows, lines and bytes, wherever
    /// the reads cut the lines (the marker's own line included).
    #[test]
    fn an_input_that_searches_skips_like_reading_through() {
        let texts: [&[u8]; 5] = [
            b"1\ta\n2\t\\\\.\n\\.x\n3\n\\.\nafter\n",
            b"\\.\nafter\n",
            b"a long first row\n\\\n\\.\n\\.\nafter\n",
            b"1\n2\n",
            b"1\n\\.",
        ];
        for text in texts {
            for step in [1, 2, 3, 5, 8, 100] {
                let mut plain = Lines::new(Trickle(text, step));
                let mut searching = Lines::new(Searching::new(text, step));
                let rows = plain.skip_copy_block().unwrap();
                assert_eq!(searching.skip_copy_block().unwrap(), rows, "step {step}");
                assert_eq!(searching.line(), plain.line());
                assert_eq!(searching.bytes(), plain.bytes());
                assert_eq!(
                    searching.next_line().unwrap().map(<[u8]>::to_vec),
                    plain.next_line().unwrap().map(<[u8]>::to_vec),
                );
            }
        }
        // Past the first read, the input did the searching.
        let text = [&b"1\n"[..], &[b'x'; 5000], b"\n\\.\nafter\n"].concat();
        let mut lines = Lines::new(Searching::new(&text, 1000));
        assert_eq!(lines.skip_copy_block().unwrap(), Some(2));
        assert_eq!(lines.line(), 3);
        assert_eq!(lines.next_line().unwrap().unwrap(), b"after\n");
        assert_eq!(lines.input.searches, 1);
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
