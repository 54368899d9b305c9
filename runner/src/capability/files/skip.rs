//! The search behind `read-file.skip-through-line`: the first line of a
//! stream that is exactly a given line, found chunk by chunk as the chunks
//! come, counting the lines passed over.
//!
//! A line that cannot be the one costs one `memchr` for its end; only a line
//! whose start matches is compared further. The state between two chunks
//! is how much of the current line matched, so a line cut by a chunk
//! boundary is found as well as a whole one.

/// The longest line a plugin may ask for: a marker line, not a pattern.
pub const MAX_LINE: usize = 256;

/// Why a line cannot be searched for.
pub fn check_line(line: &[u8]) -> Result<(), String> {
    if line.is_empty() || line.len() > MAX_LINE {
        return Err(format!(
            "the line to skip through is {} bytes long; it must be 1 to {MAX_LINE}",
            line.len()
        ));
    }
    if line.contains(&b'\n') {
        return Err("the line to skip through holds a newline".to_owned());
    }
    Ok(())
}

/// One search, fed the stream's chunks in order.
pub struct LineSearch<'a> {
    line: &'a [u8],
    /// Bytes of the current line that equal the start of `line`; `None`
    /// when the current line is not it (the search goes to its end).
    matched: Option<usize>,
    /// Bytes passed over.
    pub bytes: u64,
    /// Newlines passed over before the line.
    pub lines: u64,
}

impl<'a> LineSearch<'a> {
    /// A search for `line` (checked with [`check_line`]); `mid_line`: the
    /// stream starts inside a line that is not the one.
    pub fn new(line: &'a [u8], mid_line: bool) -> LineSearch<'a> {
        LineSearch {
            line,
            matched: (!mid_line).then_some(0),
            bytes: 0,
            lines: 0,
        }
    }

    /// Passes over the next chunk: `Some(n)` when the line ends after its
    /// first `n` bytes (its newline included; the rest is not passed over),
    /// `None` when the whole chunk was passed over.
    pub fn feed(&mut self, chunk: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < chunk.len() {
            match self.matched {
                None => match memchr::memchr(b'\n', &chunk[at..]) {
                    Some(i) => {
                        at += i + 1;
                        self.lines += 1;
                        self.matched = Some(0);
                    }
                    None => at = chunk.len(),
                },
                Some(m) => {
                    let need = self.line.len() - m;
                    let n = need.min(chunk.len() - at);
                    if chunk[at..at + n] != self.line[m..m + n] {
                        // Not it: its end is searched from here (no newline
                        // lies before, since `line` holds none).
                        self.matched = None;
                        continue;
                    }
                    at += n;
                    self.matched = Some(m + n);
                    if n < need || at == chunk.len() {
                        continue;
                    }
                    if chunk[at] == b'\n' {
                        at += 1;
                        self.bytes += at as u64;
                        return Some(at);
                    }
                    // A longer line that starts with it.
                    self.matched = None;
                }
            }
        }
        self.bytes += chunk.len() as u64;
        None
    }

    /// At the end of the stream: whether its last line, without a newline,
    /// is the one.
    pub fn found_at_end(&self) -> bool {
        self.matched == Some(self.line.len())
    }
}

#[cfg(test)]
mod tests {
    use super::{LineSearch, check_line};

    /// (bytes, lines, found) of a search over `text` fed in `step`-byte
    /// chunks, and the rest after the line.
    fn search(text: &[u8], line: &[u8], mid_line: bool, step: usize) -> (u64, u64, bool, Vec<u8>) {
        let mut s = LineSearch::new(line, mid_line);
        let mut at = 0;
        while at < text.len() {
            let end = (at + step).min(text.len());
            if let Some(n) = s.feed(&text[at..end]) {
                return (s.bytes, s.lines, true, text[at + n..].to_vec());
            }
            at = end;
        }
        (s.bytes, s.lines, s.found_at_end(), Vec::new())
    }

    #[test]
    fn the_first_equal_line_is_found_across_any_chunk_boundary() {
        let text = b"1\ta\n\\.x\n2\t\\\\.\n\\\n\\.\nafter\n\\.\n";
        for step in 1..=text.len() {
            let (bytes, lines, found, rest) = search(text, b"\\.", false, step);
            assert_eq!((bytes, lines, found), (19, 4, true), "step {step}");
            assert_eq!(rest, b"after\n\\.\n");
        }
    }

    #[test]
    fn the_line_at_the_start_or_at_the_end_without_newline_counts() {
        for step in [1, 2, 100] {
            assert_eq!(
                search(b"\\.\nx", b"\\.", false, step),
                (3, 0, true, b"x".to_vec())
            );
            assert_eq!(
                search(b"a\n\\.", b"\\.", false, step),
                (4, 1, true, Vec::new())
            );
            assert_eq!(
                search(b"a\n\\.x", b"\\.", false, step),
                (5, 1, false, Vec::new())
            );
            assert_eq!(search(b"", b"\\.", false, step), (0, 0, false, Vec::new()));
        }
    }

    #[test]
    fn mid_line_skips_the_line_begun_before() {
        for step in [1, 3, 100] {
            // The begun line's rest is `\.` itself: not the line.
            assert_eq!(
                search(b"\\.\n\\.\nz", b"\\.", true, step),
                (6, 1, true, b"z".to_vec())
            );
            assert_eq!(
                search(b"\\.\n\\.\nz", b"\\.", false, step),
                (3, 0, true, b"\\.\nz".to_vec())
            );
        }
    }

    #[test]
    fn lines_to_search_for_are_bounded() {
        assert!(check_line(b"\\.").is_ok());
        assert!(check_line(b"").is_err());
        assert!(check_line(b"a\nb").is_err());
        assert!(check_line(&[b'x'; 257]).is_err());
        assert!(check_line(&[b'x'; 256]).is_ok());
    }
}
