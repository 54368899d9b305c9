//! Alpine (apk-tools) version ordering: `1.2.3a_rc1_p2-r4`. Numbers compare
//! numerically (after a dot, leading zeros make a fraction-like smaller value),
//! one trailing letter may follow a number, `_alpha`, `_beta`, `_pre` and
//! `_rc` sort before the release and `_cvs`, `_svn`, `_git`, `_hg`, `_p`
//! after it, and `-rN` is the package revision. This follows apk-tools'
//! `version.c` token machine, including how it treats invalid versions.

use std::cmp::Ordering;

/// The kind of the token about to be read; the order matters (apk-tools
/// compares token kinds when one version runs out first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Invalid,
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Reads the separator after a token and decides the next token's kind.
    fn next_token(&mut self, current: Token) -> Token {
        let next = match self.peek() {
            None => Token::End,
            Some(c)
                if matches!(current, Token::Digit | Token::DigitOrZero)
                    && c.is_ascii_lowercase() =>
            {
                Token::Letter
            }
            Some(c) if current == Token::Letter && c.is_ascii_digit() => Token::Digit,
            Some(c) if current == Token::Suffix && c.is_ascii_digit() => Token::SuffixNo,
            Some(c) => {
                self.pos += 1;
                match c {
                    b'.' => Token::DigitOrZero,
                    b'_' => Token::Suffix,
                    b'-' if self.peek() == Some(b'r') => {
                        self.pos += 1;
                        Token::RevisionNo
                    }
                    _ => Token::Invalid,
                }
            }
        };
        let allowed_backwards = matches!(
            (next, current),
            (Token::DigitOrZero, Token::Digit)
                | (Token::Suffix, Token::SuffixNo)
                | (Token::Digit, Token::Letter)
        );
        if next < current && !allowed_backwards {
            Token::Invalid
        } else {
            next
        }
    }

    /// Reads one token of kind `kind`: its value, and the kind of the next.
    fn get_token(&mut self, kind: Token) -> (i64, Token) {
        if self.at_end() {
            return (0, Token::End);
        }
        let mut forced_next = None;
        let value = match kind {
            Token::DigitOrZero if self.peek() == Some(b'0') => {
                // Leading zeros after a dot: each one makes the value smaller,
                // so 1.01 < 1.1 and 1.001 < 1.01.
                let mut v = 0;
                while self.peek() == Some(b'0') {
                    self.pos += 1;
                    v -= 1;
                }
                forced_next = Some(Token::Digit);
                v
            }
            Token::DigitOrZero | Token::Digit | Token::SuffixNo | Token::RevisionNo => {
                let mut v: i64 = 0;
                while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
                    v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
                    self.pos += 1;
                }
                v
            }
            Token::Letter => {
                let c = self.peek().unwrap_or(0);
                self.pos += 1;
                i64::from(c)
            }
            Token::Suffix => {
                let rest = &self.s[self.pos..];
                if let Some(i) = PRE_SUFFIXES
                    .iter()
                    .position(|s| rest.starts_with(s.as_bytes()))
                {
                    self.pos += PRE_SUFFIXES[i].len();
                    i as i64 - PRE_SUFFIXES.len() as i64
                } else if let Some(i) = POST_SUFFIXES
                    .iter()
                    .position(|s| rest.starts_with(s.as_bytes()))
                {
                    self.pos += POST_SUFFIXES[i].len();
                    i as i64
                } else {
                    return (-1, Token::Invalid);
                }
            }
            Token::Invalid | Token::End => return (-1, Token::Invalid),
        };
        let next = if self.at_end() {
            Token::End
        } else if let Some(next) = forced_next {
            next
        } else {
            self.next_token(kind)
        };
        (value, next)
    }
}

/// Whether apk-tools accepts `version` as a version.
#[cfg(test)]
pub fn valid(version: &str) -> bool {
    let mut c = Cursor {
        s: version.as_bytes(),
        pos: 0,
    };
    let mut kind = Token::Digit;
    while kind != Token::End && kind != Token::Invalid {
        kind = c.get_token(kind).1;
    }
    kind == Token::End
}

/// Orders two apk versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut ca = Cursor {
        s: a.as_bytes(),
        pos: 0,
    };
    let mut cb = Cursor {
        s: b.as_bytes(),
        pos: 0,
    };
    let (mut at, mut bt) = (Token::Digit, Token::Digit);
    let (mut av, mut bv) = (0, 0);
    while at == bt && at != Token::End && at != Token::Invalid && av == bv {
        (av, at) = ca.get_token(at);
        (bv, bt) = cb.get_token(bt);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    // Equal so far and one goes on: the longer one is newer, unless what
    // follows is a pre-release suffix.
    if at == Token::Suffix && ca.get_token(at).0 < 0 {
        return Ordering::Less;
    }
    if bt == Token::Suffix && cb.get_token(bt).0 < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

#[cfg(test)]
mod tests {
    use super::{compare, valid};
    use std::cmp::Ordering::{self, Equal, Greater, Less};

    #[track_caller]
    fn check(a: &str, expected: Ordering, b: &str) {
        assert_eq!(compare(a, b), expected, "{a} vs {b}");
    }

    /// Every comparison of apk-tools' own test data (via go-apk-version), in
    /// the shared data directory.
    #[test]
    fn all_shared_apk_vectors() {
        let path = crate::shared_data("version-vectors/apk-version.data");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut failures = Vec::new();
        let mut count = 0;
        for line in text.lines() {
            let line = line.split('#').next().unwrap().trim();
            if line.is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [a, op, b] = parts[..] else {
                panic!("bad line {line:?}");
            };
            let expected = match op {
                "<" => Less,
                ">" => Greater,
                "=" => Equal,
                _ => panic!("bad operator in {line:?}"),
            };
            count += 1;
            if compare(a, b) != expected {
                failures.push(format!("{a} {op} {b} (got {:?})", compare(a, b)));
            }
        }
        assert_eq!(count, 728, "the data file has 728 comparisons");
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn suffixes_and_revisions() {
        check("1.1_alpha1", Less, "1.1_beta1");
        check("1.1_beta1", Less, "1.1_pre1");
        check("1.1_pre1", Less, "1.1_rc1");
        check("1.1_rc1", Less, "1.1");
        check("1.1_rc1-r3", Less, "1.1-r0");
        check("1.1", Less, "1.1_p1");
        check("1.1_p1", Less, "1.1.1");
        check("1.1_git20200101", Greater, "1.1");
        check("1.1_alpha_pre2", Less, "1.1_alpha");
        check("1.0-r0", Less, "1.0-r1");
        check("1.0-r9", Less, "1.0-r10");
        check("1.0-r1", Less, "1.0.1-r0");
        check("1.0", Less, "1.0-r1");
        check("1.0-r0", Equal, "1.0-r0");
        check("1.1.1d-r3", Less, "1.1.1g-r0");
        check("1.1.1g-r0", Greater, "1.1.1d-r3");
        check("1.1.1a-r0", Greater, "1.1.1-r5");
        check("2.9.10-r4", Less, "2.9.10-r5");
        check("1.01", Less, "1.1");
        check("1.001", Less, "1.01");
    }

    #[test]
    fn validity() {
        assert!(valid("1.2.3_rc1-r4"));
        assert!(valid("1.1.1g-r0"));
        assert!(!valid("1.0bc"));
        assert!(!valid("1.0-x"));
    }
}
