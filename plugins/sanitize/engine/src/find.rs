//! Personal data found by content inside free text: email addresses, phone
//! numbers in international and national formats, card numbers that pass
//! the Luhn check, IBANs whose check digits are right, and IPv4 and IPv6
//! addresses.
//!
//! Hand-written rather than regular expressions: each kind needs a check no
//! regex does (Luhn, mod 97, octet ranges, dates that look like phone
//! numbers), and a field is first counted in one pass, so most fields (no
//! `@`, too few digits) cost a table lookup per byte and nothing else.

use std::fmt;
use std::net::Ipv6Addr;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Email,
    Phone,
    Card,
    Iban,
    Ip,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Email, Kind::Phone, Kind::Card, Kind::Iban, Kind::Ip];

    /// The name used in policies (`find = ["email", …]`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ip => "ip",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Plural words for reports.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Email => "email addresses",
            Kind::Phone => "phone numbers",
            Kind::Card => "card numbers",
            Kind::Iban => "IBANs",
            Kind::Ip => "IP addresses",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of kinds to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    pub const ALL: Kinds = Kinds(0b1_1111);
    pub const NONE: Kinds = Kinds(0);

    pub fn of(kinds: &[Kind]) -> Kinds {
        Kinds(kinds.iter().fold(0, |set, k| set | k.bit()))
    }

    pub fn contains(self, kind: Kind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

impl fmt::Display for Kinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Kind::name).collect();
        f.write_str(&names.join(", "))
    }
}

/// How many of each kind were found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; 5]);

impl Counts {
    pub fn add(&mut self, kind: Kind) {
        self.0[kind as usize] += 1;
    }

    pub fn get(&self, kind: Kind) -> u64 {
        self.0[kind as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn merge(&mut self, other: &Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
}

impl fmt::Display for Counts {
    /// `3 email addresses, 1 phone number`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in Kind::ALL {
            let n = self.get(kind);
            if n == 0 {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            let plural = kind.plural();
            let word = if n == 1 {
                plural
                    .strip_suffix("es")
                    .filter(|_| kind == Kind::Email)
                    .or_else(|| plural.strip_suffix('s'))
                    .unwrap_or(plural)
            } else {
                plural
            };
            write!(f, "{n} {word}")?;
        }
        Ok(())
    }
}

/// One thing found: its kind and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// What a text holds, counted eight bytes at a time (SWAR: no SIMD is
/// needed, so wasm gets the same speed-up): most fields have no `@`, too
/// few digits for anything, and are done after this.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Census {
    digits: u32,
    at: bool,
    colons: u32,
    upper: bool,
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` (ASCII only) that lies in `lo..=hi`.
fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let ge_lo = w + u64::from_ne_bytes([0x80 - lo; 8]);
    let gt_hi = w + u64::from_ne_bytes([0x7f - hi; 8]);
    ge_lo & !gt_hi & HIGH
}

fn census(text: &[u8]) -> Census {
    let mut c = Census::default();
    let mut words = text.chunks_exact(8);
    for word in &mut words {
        let raw = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
        // Bytes with the high bit (UTF-8) are none of these; clearing it
        // keeps the additions below from carrying into the next byte.
        let ascii = !raw & HIGH;
        let w = raw & LOW7;
        c.digits += (in_range(w, b'0', b'9') & ascii).count_ones();
        c.at |= in_range(w, b'@', b'@') & ascii != 0;
        c.colons += (in_range(w, b':', b':') & ascii).count_ones();
        c.upper |= in_range(w, b'A', b'Z') & ascii != 0;
    }
    for &b in words.remainder() {
        c.digits += u32::from(b.is_ascii_digit());
        c.at |= b == b'@';
        c.colons += u32::from(b == b':');
        c.upper |= b.is_ascii_uppercase();
    }
    c
}

/// Every span of the `kinds` in `text`, in order and not overlapping,
/// appended to `out` (cleared first).
pub fn find(text: &[u8], kinds: Kinds, out: &mut Vec<Span>) {
    out.clear();
    if kinds.is_empty() || text.len() < 6 {
        return;
    }
    let Census {
        digits,
        at,
        colons,
        upper,
    } = census(text);
    if at && kinds.contains(Kind::Email) {
        emails(text, out);
    }
    if upper && digits >= 2 && kinds.contains(Kind::Iban) {
        ibans(text, out);
    }
    if colons >= 2 && kinds.contains(Kind::Ip) {
        ipv6s(text, out);
    }
    if digits >= 4 {
        numbers(text, kinds, out);
    }
    if out.len() > 1 {
        // Earlier first; at the same start the longer one (an email
        // beats the phone-looking digits in its local part).
        out.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut end = 0;
        out.retain(|s| {
            let keep = s.start >= end;
            if keep {
                end = s.end;
            }
            keep
        });
    }
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// `b` may not stand right before a match: the match would be inside a
/// word or a longer number.
fn joins(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| is_alnum(b) || b == b'_')
}

fn emails(text: &[u8], out: &mut Vec<Span>) {
    let local = |b: u8| is_alnum(b) || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'');
    let domain = |b: u8| is_alnum(b) || matches!(b, b'.' | b'-');
    let mut last_end = 0;
    for at in memchr::memchr_iter(b'@', text) {
        if at < last_end {
            continue;
        }
        let mut start = at;
        while start > last_end && local(text[start - 1]) {
            start -= 1;
        }
        // A local part does not start with a dot (or a quote of the
        // surrounding text).
        while start < at && matches!(text[start], b'.' | b'\'') {
            start += 1;
        }
        if start == at {
            continue;
        }
        let mut end = at + 1;
        while end < text.len() && domain(text[end]) {
            end += 1;
        }
        // "write to a@b.org." ends the sentence, not the domain.
        while end > at + 1 && matches!(text[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let host = &text[at + 1..end];
        let Some(dot) = host.iter().rposition(|&b| b == b'.') else {
            continue;
        };
        let tld = &host[dot + 1..];
        let labels_ok = host.split(|&b| b == b'.').all(|l| !l.is_empty());
        if labels_ok && tld.len() >= 2 && tld.iter().all(|b| b.is_ascii_alphabetic() || *b >= 0x80)
        {
            out.push(Span {
                kind: Kind::Email,
                start,
                end,
            });
            last_end = end;
        }
    }
}

/// IBAN lengths by country (ISO 13616 registry); other countries: 15–34.
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VG", 24),
    (b"XK", 20),
];

fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| &c[..] == country)
        .map(|(_, n)| *n)
}

/// Whether the letters and digits of an IBAN (no spaces) have right check
/// digits: moved to the end and read as a number, it is 1 modulo 97.
pub fn iban_valid(chars: &[u8]) -> bool {
    if chars.len() < 15 || chars.len() > 34 {
        return false;
    }
    iban_remainder(&chars[4..], &chars[..4]) == Some(1)
}

/// (bban ‖ head) read as a number, modulo 97; `None` for other characters.
pub fn iban_remainder(bban: &[u8], head: &[u8]) -> Option<u32> {
    let mut r = 0u32;
    for &b in bban.iter().chain(head) {
        r = match b {
            b'0'..=b'9' => (r * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(b - b'A') + 10) % 97,
            b'a'..=b'z' => (r * 100 + u32::from(b - b'a') + 10) % 97,
            _ => return None,
        };
    }
    Some(r)
}

fn ibans(text: &[u8], out: &mut Vec<Span>) {
    let mut i = 0;
    let mut chars = Vec::with_capacity(34);
    while i + 15 <= text.len() {
        let head = &text[i..i + 4];
        let plausible = head[0].is_ascii_uppercase()
            && head[1].is_ascii_uppercase()
            && head[2].is_ascii_digit()
            && head[3].is_ascii_digit()
            && !(i > 0 && joins(text.get(i - 1)));
        if !plausible {
            i += 1;
            continue;
        }
        // Contiguous, or printed in groups of four with single spaces.
        chars.clear();
        let mut end = i;
        let mut group = 0;
        while end < text.len() && chars.len() < 34 {
            let b = text[end];
            if b.is_ascii_uppercase() || b.is_ascii_digit() {
                chars.push(b);
                group += 1;
                end += 1;
            } else if b == b' '
                && group == 4
                && text.get(end + 1).is_some_and(|n| n.is_ascii_alphanumeric())
            {
                group = 0;
                end += 1;
            } else {
                break;
            }
        }
        // The registry's length for the country, or the longest valid
        // prefix for others.
        let wanted = iban_length(&head[..2]);
        let mut found = None;
        let candidates: Vec<usize> = match wanted {
            Some(n) => vec![n],
            None => (15..=chars.len()).rev().collect(),
        };
        for n in candidates {
            if n <= chars.len() && iban_valid(&chars[..n]) {
                // The span ends after the n-th character (and the spaces
                // before it).
                let mut seen = 0;
                let mut stop = i;
                while seen < n {
                    if text[stop] != b' ' {
                        seen += 1;
                    }
                    stop += 1;
                }
                if !joins(text.get(stop)) {
                    found = Some(stop);
                }
                break;
            }
        }
        match found {
            Some(stop) => {
                out.push(Span {
                    kind: Kind::Iban,
                    start: i,
                    end: stop,
                });
                i = stop;
            }
            None => i += 1,
        }
    }
}

fn ipv6s(text: &[u8], out: &mut Vec<Span>) {
    let part = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
    let mut i = 0;
    while i < text.len() {
        if !part(text[i]) || (i > 0 && (joins(text.get(i - 1)) || text[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < text.len() && part(text[end]) {
            end += 1;
        }
        let mut stop = end;
        // Trailing punctuation of the sentence.
        while stop > i && matches!(text[stop - 1], b'.') {
            stop -= 1;
        }
        let candidate = &text[i..stop];
        let colons = candidate.iter().filter(|&&b| b == b':').count();
        if colons >= 2 && !joins(text.get(end)) {
            let parsed = std::str::from_utf8(candidate)
                .ok()
                .and_then(|s| s.parse::<Ipv6Addr>().ok());
            if let Some(ip) = parsed
                && !ip.is_loopback()
                && !ip.is_unspecified()
            {
                out.push(Span {
                    kind: Kind::Ip,
                    start: i,
                    end: stop,
                });
            }
        }
        i = end.max(i + 1);
    }
}

/// Digits and the punctuation between them: IPv4 addresses, card numbers,
/// phone numbers.
fn numbers(text: &[u8], kinds: Kinds, out: &mut Vec<Span>) {
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        let starts = b.is_ascii_digit()
            || (b == b'+' && text.get(i + 1).is_some_and(u8::is_ascii_digit))
            || (b == b'(' && text.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts
            || (i > 0
                && (joins(text.get(i - 1))
                    || matches!(text[i - 1], b'.' | b'-' | b'/' | b'+' | b'$' | b'#' | b',')))
        {
            i += 1;
            continue;
        }
        if b.is_ascii_digit()
            && kinds.contains(Kind::Ip)
            && let Some(end) = ipv4(text, i)
        {
            out.push(Span {
                kind: Kind::Ip,
                start: i,
                end,
            });
            i = end;
            continue;
        }
        let end = run_end(text, i);
        let mut pieces = Vec::new();
        split_dates(text, i, end, &mut pieces);
        for (start, stop) in pieces {
            if let Some(kind) = classify(&text[start..stop])
                && kinds.contains(kind)
            {
                out.push(Span {
                    kind,
                    start,
                    end: stop,
                });
            }
        }
        i = end.max(i + 1);
    }
}

/// `a.b.c.d` at `i` with octets up to 255, not part of a longer dotted
/// number; loopback, 0.0.0.0 and masks (255.…) are not personal.
fn ipv4(text: &[u8], i: usize) -> Option<usize> {
    let mut pos = i;
    let mut octets = [0u32; 4];
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if text.get(pos) != Some(&b'.') {
                return None;
            }
            pos += 1;
        }
        let start = pos;
        while pos < text.len() && text[pos].is_ascii_digit() && pos - start < 4 {
            pos += 1;
        }
        let len = pos - start;
        if !(1..=3).contains(&len) {
            return None;
        }
        *octet = text[start..pos]
            .iter()
            .fold(0, |v, d| v * 10 + u32::from(d - b'0'));
        if *octet > 255 {
            return None;
        }
    }
    let next = text.get(pos);
    let continues =
        joins(next) || (next == Some(&b'.') && text.get(pos + 1).is_some_and(u8::is_ascii_digit));
    if continues || octets[0] == 127 || octets[0] == 255 || octets == [0, 0, 0, 0] {
        return None;
    }
    Some(pos)
}

fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// The end of the run of digits and phone punctuation that starts at `i`:
/// at most two separators in a row (`) `, ` (`), and never a trailing one
/// (but a closing parenthesis after digits stays).
fn run_end(text: &[u8], i: usize) -> usize {
    let mut end = i + 1;
    let mut last_digit = if text[i].is_ascii_digit() { i + 1 } else { i };
    let mut seps = 0;
    while end < text.len() {
        let b = text[end];
        if b.is_ascii_digit() {
            seps = 0;
            end += 1;
            last_digit = end;
        } else if is_separator(b) && seps < 2 {
            seps += 1;
            end += 1;
        } else {
            break;
        }
    }
    // A number glued to letters (`12345abc`) is a code, not a phone.
    if joins(text.get(last_digit)) {
        return i;
    }
    last_digit
}

/// Cuts dates (`2024-01-02`, `02.01.2024`, `1/2/2024`) and times out of a
/// run: what is left may be a phone or a card number.
fn split_dates(text: &[u8], start: usize, end: usize, pieces: &mut Vec<(usize, usize)>) {
    // Digit groups of the run: (start, end).
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = start;
    while i < end {
        if text[i].is_ascii_digit() {
            let g = i;
            while i < end && text[i].is_ascii_digit() {
                i += 1;
            }
            groups.push((g, i));
        } else {
            i += 1;
        }
    }
    let mut piece_start = start;
    let mut g = 0;
    while g < groups.len() {
        let before = g.checked_sub(1).map(|p| groups[p]);
        let after = groups.get(g + 3).copied();
        if g + 2 < groups.len() && is_date(text, &groups[g..g + 3], before, after) {
            if groups[g].0 > piece_start {
                pieces.push((piece_start, trim_end(text, piece_start, groups[g].0)));
            }
            piece_start = groups[g + 2].1;
            g += 3;
            continue;
        }
        g += 1;
    }
    if piece_start < end {
        let from = (piece_start..end)
            .find(|&p| text[p].is_ascii_digit() || text[p] == b'+' || text[p] == b'(')
            .unwrap_or(end);
        if from < end {
            pieces.push((from, end));
        }
    }
}

fn trim_end(text: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && !text[end - 1].is_ascii_digit() && text[end - 1] != b')' {
        end -= 1;
    }
    end
}

/// Three digit groups joined by the same `-`, `.` or `/` that read as a
/// date in year-first or year-last order, and are not part of a longer
/// chain joined the same way (`06.12.34.56.78` is a phone number).
fn is_date(
    text: &[u8],
    g: &[(usize, usize)],
    before: Option<(usize, usize)>,
    after: Option<(usize, usize)>,
) -> bool {
    let sep1 = &text[g[0].1..g[1].0];
    let sep2 = &text[g[1].1..g[2].0];
    if sep1.len() != 1 || sep1 != sep2 || !matches!(sep1[0], b'-' | b'.' | b'/') {
        return false;
    }
    if before.is_some_and(|b| &text[b.1..g[0].0] == sep1)
        || after.is_some_and(|a| &text[g[2].1..a.0] == sep1)
    {
        return false;
    }
    let len = |k: usize| g[k].1 - g[k].0;
    let value = |k: usize| {
        text[g[k].0..g[k].1]
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'))
    };
    let small = |k: usize| (1..=2).contains(&len(k)) && (1..=31).contains(&value(k));
    (len(0) == 4 && small(1) && small(2)) || (small(0) && small(1) && (len(2) == 4 || len(2) == 2))
}

/// A card number (13–19 digits, Luhn) or a phone number, or nothing.
fn classify(piece: &[u8]) -> Option<Kind> {
    let digits: Vec<u8> = piece
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect();
    let n = digits.len();
    let plus = piece[0] == b'+';
    let paren = piece.contains(&b'(');
    let mut groups = 0;
    let mut group_lens = [0usize; 20];
    let mut separators = Vec::new();
    let mut in_group = false;
    for &b in piece {
        if b.is_ascii_digit() {
            if !in_group {
                if groups < group_lens.len() {
                    group_lens[groups] = 0;
                }
                groups += 1;
                in_group = true;
            }
            if groups <= group_lens.len() {
                group_lens[groups - 1] += 1;
            }
        } else {
            in_group = false;
            if !separators.contains(&b) {
                separators.push(b);
            }
        }
    }
    if (13..=19).contains(&n)
        && !plus
        && !paren
        && separators.iter().all(|s| matches!(s, b' ' | b'-'))
        && luhn_valid(&digits)
    {
        return Some(Kind::Card);
    }
    if !(7..=15).contains(&n) {
        return None;
    }
    if plus || paren {
        return Some(Kind::Phone);
    }
    let lens = &group_lens[..groups.min(group_lens.len())];
    match groups {
        // Bare digits: a national number with its trunk 0, else an id.
        1 => (piece[0] == b'0' && (10..=12).contains(&n)).then_some(Kind::Phone),
        // `0171 1234567`, `030-1234567`; not `1234567.89` nor `1990-2024`.
        2 => {
            let decimal = separators.iter().any(|s| matches!(s, b'.' | b','));
            let years = lens == [4, 4];
            (n >= 8 && !decimal && !years).then_some(Kind::Phone)
        }
        _ => {
            // `1 234 567` is a number with thousands separators.
            let thousands = piece[0] != b'0'
                && lens[0] <= 3
                && lens[1..].iter().all(|&l| l == 3)
                && separators.len() == 1;
            (!thousands).then_some(Kind::Phone)
        }
    }
}

/// The Luhn check over digits (0–9 values), the last being the check digit.
pub fn luhn_valid(digits: &[u8]) -> bool {
    luhn_sum(digits).is_multiple_of(10)
}

/// The Luhn sum of `digits` (the last one undoubled).
pub fn luhn_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::{Census, Kind, Kinds, Span, census, find, iban_valid, luhn_valid};

    fn found(text: &str) -> Vec<(Kind, &str)> {
        let mut spans: Vec<Span> = Vec::new();
        find(text.as_bytes(), Kinds::ALL, &mut spans);
        spans
            .iter()
            .map(|s| (s.kind, &text[s.start..s.end]))
            .collect()
    }

    #[test]
    fn emails_in_text() {
        assert_eq!(
            found("write to <ada.lovelace+x@math.example.org>, or a@b.co."),
            [
                (Kind::Email, "ada.lovelace+x@math.example.org"),
                (Kind::Email, "a@b.co")
            ]
        );
        assert_eq!(found("user@localhost and @handle and a@b.c"), []);
        assert_eq!(found("o'brien@mail.ie"), [(Kind::Email, "o'brien@mail.ie")]);
    }

    #[test]
    fn phone_numbers_in_international_and_national_formats() {
        for phone in [
            "+44 20 7946 0958",
            "+1 (415) 555-0143",
            "(212) 555-0143",
            "+49 (0)30 1234567",
            "+33 1 23 45 67 89",
            "06.12.34.56.78",
            "+8613812345678",
            "0171 1234567",
            "030-1234567",
            "07911123456",
            "415.555.0143",
            "+1-415-555-0143",
        ] {
            let text = format!("call {phone} today");
            assert_eq!(found(&text), [(Kind::Phone, phone)], "{phone}");
        }
        for not_phone in [
            "order 1234567",
            "on 2024-01-02 at 10:11:12",
            "12.05.2024",
            "1/2/2024",
            "total 1234567.89",
            "1 234 567 units",
            "from 1990-2024",
            "v1.2.3",
            "SKU12345678",
            "id 42",
            "12345678abc",
        ] {
            assert_eq!(found(not_phone), [], "{not_phone}");
        }
        // A date next to a phone number is cut off it.
        assert_eq!(
            found("2024-01-02 555-0143-222"),
            [(Kind::Phone, "555-0143-222")]
        );
    }

    #[test]
    fn card_numbers_need_the_luhn_check() {
        assert_eq!(
            found("Card 4111 1111 1111 1111, exp 12/25"),
            [(Kind::Card, "4111 1111 1111 1111")]
        );
        assert_eq!(
            found("paid with 5500-0000-0000-0004"),
            [(Kind::Card, "5500-0000-0000-0004")]
        );
        assert_eq!(
            found("amex 378282246310005"),
            [(Kind::Card, "378282246310005")]
        );
        // Sixteen digits that fail the check are not a card (nor a phone).
        assert_eq!(found("ref 4111 1111 1111 1112"), []);
        assert!(luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
    }

    #[test]
    fn ibans_need_their_check_digits() {
        assert_eq!(
            found("IBAN DE89 3704 0044 0532 0130 00 is mine"),
            [(Kind::Iban, "DE89 3704 0044 0532 0130 00")]
        );
        assert_eq!(
            found("GB82WEST12345698765432."),
            [(Kind::Iban, "GB82WEST12345698765432")]
        );
        assert_eq!(found("NO9386011117947"), [(Kind::Iban, "NO9386011117947")]);
        assert_eq!(found("DE88 3704 0044 0532 0130 00"), []);
        assert!(iban_valid(b"FR1420041010050500013M02606"));
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(
            found("from 192.168.1.20, then 2001:db8::7334 and fe80::1%eth0"),
            [
                (Kind::Ip, "192.168.1.20"),
                (Kind::Ip, "2001:db8::7334"),
                (Kind::Ip, "fe80::1")
            ]
        );
        assert_eq!(found("10.0.0.1/24"), [(Kind::Ip, "10.0.0.1")]);
        for not_ip in [
            "127.0.0.1",
            "1.2.3.4.5",
            "256.1.1.1",
            "at 10:11:12",
            "00:1a:2b:3c:4d:5e",
            "::1",
        ] {
            assert_eq!(found(not_ip), [], "{not_ip}");
        }
    }

    #[test]
    fn the_census_counts_like_a_byte_loop() {
        let samples: [&[u8]; 5] = [
            b"",
            b"Call +44 20 7946 0958 or a@b.co: 12:30",
            "größe 123 ÄÖÜ @ 9".as_bytes(),
            b"\xff\xc0\x80@:09AZaz/;[`",
            b"0123456789:::@@@ABCXYZ{|}~\x7f",
        ];
        for text in samples {
            let slow = Census {
                digits: text.iter().filter(|b| b.is_ascii_digit()).count() as u32,
                at: text.contains(&b'@'),
                colons: text.iter().filter(|b| **b == b':').count() as u32,
                upper: text.iter().any(u8::is_ascii_uppercase),
            };
            assert_eq!(census(text), slow, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn kinds_can_be_left_out() {
        let mut spans = Vec::new();
        find(
            b"a@b.co +44 20 7946 0958",
            Kinds::of(&[Kind::Phone]),
            &mut spans,
        );
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].kind, Kind::Phone);
    }
}
