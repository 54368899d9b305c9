//! The lexical state of SQL carried from one line of a dump to the next.
//!
//! A line is only a `COPY … FROM stdin;` or a psql meta-command when it
//! starts a statement: a function body (dollar-quoted), a comment or a
//! string literal may hold a line that starts with `COPY ` or `\` too. The
//! lexer knows string literals (with `''`, and backslash escapes in `E''`
//! or with `standard_conforming_strings = off`), quoted identifiers,
//! dollar quotes, `--` and nested `/* */` comments, and where each
//! statement starts and ends.

/// Where a statement starts or ends on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The first byte of a statement.
    Start(usize),
    /// Just after the `;` that ends a statement.
    End(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum State {
    #[default]
    Normal,
    /// In `'…'`; `backslash` when `\` escapes the next byte.
    String { backslash: bool },
    /// In `"…"`.
    Identifier,
    /// In `$tag$…$tag$`; the tag without its dollars.
    Dollar(Vec<u8>),
    /// In `/* … */`, nested this deep.
    Comment(u32),
}

#[derive(Debug, Clone)]
pub struct Lexer {
    state: State,
    /// A statement has begun and not ended yet.
    in_statement: bool,
    /// `standard_conforming_strings = on` (pg_dump's default): a backslash
    /// in `'…'` is an ordinary character.
    pub standard_strings: bool,
    marks: Vec<Mark>,
}

impl Default for Lexer {
    fn default() -> Self {
        Self {
            state: State::Normal,
            in_statement: false,
            standard_strings: true,
            marks: Vec::new(),
        }
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Lexer {
    /// Whether the next line starts outside any statement, string or
    /// comment.
    pub fn at_statement_start(&self) -> bool {
        self.state == State::Normal && !self.in_statement
    }

    /// Reads one line; returns where statements start and end on it.
    pub fn feed(&mut self, line: &[u8]) -> &[Mark] {
        self.marks.clear();
        let mut i = 0;
        while i < line.len() {
            let b = line[i];
            match &mut self.state {
                State::Normal => match b {
                    b'-' if line.get(i + 1) == Some(&b'-') => break,
                    b'/' if line.get(i + 1) == Some(&b'*') => {
                        self.state = State::Comment(1);
                        i += 1;
                    }
                    b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {}
                    b';' => {
                        self.begin(i);
                        self.in_statement = false;
                        self.marks.push(Mark::End(i + 1));
                    }
                    b'\'' => {
                        self.begin(i);
                        let prefix = i
                            .checked_sub(1)
                            .map(|p| line[p].eq_ignore_ascii_case(&b'e'))
                            .unwrap_or(false)
                            && (i < 2 || !is_ident(line[i - 2]));
                        self.state = State::String {
                            backslash: prefix || !self.standard_strings,
                        };
                    }
                    b'"' => {
                        self.begin(i);
                        self.state = State::Identifier;
                    }
                    b'$' if i == 0 || !is_ident(line[i - 1]) => {
                        self.begin(i);
                        if let Some(len) = dollar_tag(&line[i + 1..]) {
                            self.state = State::Dollar(line[i + 1..i + 1 + len].to_vec());
                            i += len + 1;
                        }
                    }
                    _ => self.begin(i),
                },
                State::String { backslash } => match b {
                    b'\\' if *backslash => i += 1,
                    b'\'' if line.get(i + 1) == Some(&b'\'') => i += 1,
                    b'\'' => self.state = State::Normal,
                    _ => {}
                },
                State::Identifier => match b {
                    b'"' if line.get(i + 1) == Some(&b'"') => i += 1,
                    b'"' => self.state = State::Normal,
                    _ => {}
                },
                State::Dollar(tag) => {
                    if b == b'$'
                        && line[i + 1..].starts_with(tag)
                        && line.get(i + 1 + tag.len()) == Some(&b'$')
                    {
                        i += tag.len() + 1;
                        self.state = State::Normal;
                    }
                }
                State::Comment(depth) => {
                    if b == b'*' && line.get(i + 1) == Some(&b'/') {
                        *depth -= 1;
                        i += 1;
                        if *depth == 0 {
                            self.state = State::Normal;
                        }
                    } else if b == b'/' && line.get(i + 1) == Some(&b'*') {
                        *depth += 1;
                        i += 1;
                    }
                }
            }
            i += 1;
        }
        &self.marks
    }

    fn begin(&mut self, at: usize) {
        if !self.in_statement {
            self.in_statement = true;
            self.marks.push(Mark::Start(at));
        }
    }
}

/// The length of the tag of a dollar quote that starts after a `$` (`$$`:
/// 0, `$body$`: 4), or `None` when this `$` starts no dollar quote (`$1`).
fn dollar_tag(after: &[u8]) -> Option<usize> {
    for (n, &b) in after.iter().enumerate() {
        if b == b'$' {
            return Some(n);
        }
        let ok = if n == 0 {
            b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
        } else {
            b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
        };
        if !ok {
            return None;
        }
    }
    None
}

/// A token of a statement, for reading the DDL pg_dump writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An unquoted word (keyword or identifier), as written.
    Word(String),
    /// A double-quoted identifier, unquoted.
    Quoted(String),
    /// A string literal (its text, unescaped only for `''`).
    Str(String),
    Number(String),
    /// Any other character: `( ) , . ; [ ] :` and operators, one by one.
    Punct(char),
}

impl Token {
    /// A keyword, case-insensitively (never a quoted identifier).
    pub fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    pub fn is_punct(&self, c: char) -> bool {
        matches!(self, Token::Punct(p) if *p == c)
    }

    /// An identifier as PostgreSQL folds it: unquoted words in lower case.
    pub fn ident(&self) -> Option<String> {
        match self {
            Token::Word(w) => Some(w.to_lowercase()),
            Token::Quoted(q) => Some(q.clone()),
            _ => None,
        }
    }

    /// The token as SQL text.
    pub fn text(&self) -> String {
        match self {
            Token::Word(w) | Token::Number(w) => w.clone(),
            Token::Quoted(q) => format!("\"{}\"", q.replace('"', "\"\"")),
            Token::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Token::Punct(c) => c.to_string(),
        }
    }
}

/// The tokens of one statement (comments dropped).
pub fn tokens(text: &str, standard_strings: bool) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                let backslash = !standard_strings
                    || (matches!(out.last(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("e"))
                        && i > 0
                        && b[i - 1].eq_ignore_ascii_case(&b'e'));
                if backslash
                    && matches!(out.last(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("e"))
                {
                    out.pop();
                }
                let (s, next) = quoted(b, i + 1, b'\'', backslash);
                out.push(Token::Str(s));
                i = next;
            }
            b'"' => {
                let (s, next) = quoted(b, i + 1, b'"', false);
                out.push(Token::Quoted(s));
                i = next;
            }
            b'$' if dollar_tag(&b[i + 1..]).is_some() => {
                let len = dollar_tag(&b[i + 1..]).unwrap_or(0);
                let tag = &b[i..i + len + 2];
                let body = i + len + 2;
                let end = memchr::memmem::find(&b[body..], tag).map_or(b.len(), |e| body + e);
                out.push(Token::Str(text[body..end].to_owned()));
                i = (end + tag.len()).min(b.len());
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                out.push(Token::Number(text[start..i].to_owned()));
            }
            c if is_ident(c) && c != b'$' => {
                let start = i;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                out.push(Token::Word(text[start..i].to_owned()));
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                out.push(Token::Punct(ch));
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The text of a quoted string or identifier starting at `from` (after the
/// opening quote), and the index after the closing quote.
fn quoted(b: &[u8], from: usize, quote: u8, backslash: bool) -> (String, usize) {
    let mut out = Vec::new();
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        if backslash && c == b'\\' && i + 1 < b.len() {
            out.push(b[i + 1]);
            i += 2;
            continue;
        }
        if c == quote {
            if b.get(i + 1) == Some(&quote) {
                out.push(quote);
                i += 2;
                continue;
            }
            return (String::from_utf8_lossy(&out).into_owned(), i + 1);
        }
        out.push(c);
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), b.len())
}

#[cfg(test)]
mod tests {
    use super::{Lexer, Mark, Token, tokens};

    fn feed(lexer: &mut Lexer, line: &str) -> Vec<Mark> {
        lexer.feed(line.as_bytes()).to_vec()
    }

    #[test]
    fn statements_end_at_top_level_semicolons_only() {
        let mut l = Lexer::default();
        assert_eq!(feed(&mut l, "-- a comment;\n"), []);
        assert!(l.at_statement_start());
        assert_eq!(
            feed(&mut l, "SET x = 'a;b'; SET y = 1;\n"),
            [
                Mark::Start(0),
                Mark::End(14),
                Mark::Start(15),
                Mark::End(25)
            ]
        );
        assert_eq!(
            feed(&mut l, "CREATE FUNCTION f() AS $body$\n"),
            [Mark::Start(0)]
        );
        assert_eq!(feed(&mut l, "COPY t FROM stdin;\n"), []);
        assert!(!l.at_statement_start());
        assert_eq!(feed(&mut l, "$$ $x$ end $body$;\n"), [Mark::End(18)]);
        assert!(l.at_statement_start());
    }

    #[test]
    fn strings_identifiers_and_comments_span_lines() {
        let mut l = Lexer::default();
        feed(&mut l, "COMMENT ON TABLE t IS 'semi;\n");
        assert!(!l.at_statement_start());
        feed(&mut l, "COPY x FROM stdin;';\n");
        assert!(l.at_statement_start());
        feed(&mut l, "/* a /* nested */\n");
        feed(&mut l, "; */ SELECT \"a\"\";\"\n");
        assert!(!l.at_statement_start());
        assert_eq!(feed(&mut l, ";\n"), [Mark::End(1)]);
        // E'' strings escape with backslashes; plain ones do not.
        feed(&mut l, "SELECT E'it\\'s;' , 'c:\\';\n");
        assert!(l.at_statement_start());
        // `$1` and `a$b` start no dollar quote.
        feed(&mut l, "SELECT a$b, $1;\n");
        assert!(l.at_statement_start());
    }

    #[test]
    fn backslashes_escape_without_standard_conforming_strings() {
        let mut l = Lexer {
            standard_strings: false,
            ..Lexer::default()
        };
        feed(&mut l, "SELECT 'it\\'s;';\n");
        assert!(l.at_statement_start());
    }

    #[test]
    fn statements_become_tokens() {
        let t = tokens(
            "CREATE TABLE \"Sales\".\"Order \"\"Items\"\"\" (a numeric(10,2) DEFAULT E'x\\'y' -- c\n, b text[]);",
            true,
        );
        assert_eq!(t[0], Token::Word("CREATE".into()));
        assert_eq!(t[2], Token::Quoted("Sales".into()));
        assert_eq!(t[4], Token::Quoted("Order \"Items\"".into()));
        assert!(t.contains(&Token::Str("x'y".into())));
        assert!(t.contains(&Token::Number("10".into())));
        assert!(!t.iter().any(|t| t.is("c")));
        assert_eq!(t[2].ident().unwrap(), "Sales");
        assert_eq!(t[0].ident().unwrap(), "create");
        let t = tokens("SELECT $fn$ a; b $fn$, $1", true);
        assert_eq!(t[1], Token::Str(" a; b ".into()));
        assert_eq!(t[3], Token::Punct('$'));
    }
}
