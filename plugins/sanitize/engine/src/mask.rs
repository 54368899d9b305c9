//! Deterministic masking under a secret key: every fake value is drawn from
//! a keyed BLAKE3 hash of (rule, attempt, value). The same value masked by
//! the same rule gives the same result in every table and every run with
//! the same key (joins on a masked email still match, and an email masked
//! in a column and inside a note become the same fake); without the key the
//! originals cannot be recovered or confirmed by guessing.
//!
//! BLAKE3 in keyed mode is a PRF with a 256-bit key, and a short value
//! costs one compression: HMAC-SHA256 costs two, and in wasm (no SHA
//! instructions) each is several times slower; it was the largest single
//! cost of the plugin.
//!
//! Blank values (empty or only spaces) stay as they are under every rule but
//! `null`: there is nothing personal in them, and a fake phone number where
//! there was none would be invented data.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::date;
use super::find::Kind;
use super::policy::Rule;
use super::words::{FIRST_NAMES, LAST_NAMES, LOREM, STREET_KINDS, STREETS};

/// The context under which the user's key becomes the masking key: a new
/// context gives unrelated keys.
const KEY_CONTEXT: &str = "run sanitize 2026-11 masking key v2";

/// The masking key, ready to hash with.
#[derive(Clone)]
pub struct Masker {
    key: [u8; 32],
}

/// What a rule made of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Masked {
    /// The masked value was appended to the output.
    Value,
    /// The value becomes NULL (nothing was appended).
    Null,
}

impl Masker {
    pub fn new(key: &[u8]) -> Masker {
        Masker {
            key: blake3::derive_key(KEY_CONTEXT, key),
        }
    }

    /// A public name for the key, recorded in manifests: it tells two keys
    /// apart without revealing either.
    pub fn key_id(&self) -> String {
        hex(&self.digest("key-id", 0, b"")[..8])
    }

    /// The MAC of a snapshot's manifest (`message` is its canonical bytes):
    /// keyed BLAKE3 under the masking key, in a domain of its own, so no
    /// masked value can be passed off as a MAC. Only someone holding the key
    /// can write a manifest that seeding accepts.
    pub fn manifest_mac(&self, message: &[u8]) -> String {
        hex(&self.digest("manifest-mac", 0, message))
    }

    /// The key of pg_dump's `\restrict` lines in the output (see rewrite).
    pub fn restrict_key(&self) -> String {
        hex(&self.digest("psql-restrict", 0, b""))
    }

    fn digest(&self, domain: &str, attempt: u32, value: &[u8]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(domain.as_bytes());
        h.update(&[0]);
        h.update(&attempt.to_le_bytes());
        h.update(value);
        *h.finalize().as_bytes()
    }

    /// A number in [0, 1) drawn from `key` for the table: whether a root row
    /// is sampled, the same way every run.
    pub fn sample_score(&self, table: &str, key: &[u8]) -> f64 {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(b"sample\0");
        h.update(table.as_bytes());
        h.update(&[0]);
        h.update(key);
        let d = h.finalize();
        let n = u64::from_le_bytes(d.as_bytes()[..8].try_into().expect("8 bytes"));
        (n >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The masked form of `value` (decoded, not NULL) under `rule`; `None`
    /// means NULL. `attempt` > 0 asks for another value, to resolve a clash
    /// in a unique column.
    pub fn mask(&self, rule: &Rule, value: &[u8], attempt: u32) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match self.mask_into(rule, value, attempt, false, &mut out) {
            Masked::Value => Some(out),
            Masked::Null => None,
        }
    }

    /// Appends the masked form of `value` to `out`. `bytea`: the column is
    /// bytea, so `hash` writes `\x…`. `scrub` is not handled here (see
    /// [`Masker::found_into`]): it keeps the value.
    pub fn mask_into(
        &self,
        rule: &Rule,
        value: &[u8],
        attempt: u32,
        bytea: bool,
        out: &mut Vec<u8>,
    ) -> Masked {
        if *rule == Rule::Null {
            return Masked::Null;
        }
        if value.iter().all(u8::is_ascii_whitespace) {
            out.extend_from_slice(value);
            return Masked::Value;
        }
        let d = |input: &[u8]| self.digest(rule.name(), attempt, input);
        match rule {
            Rule::Keep | Rule::Verbatim | Rule::Scrub => out.extend_from_slice(value),
            Rule::Null => unreachable!("handled above"),
            Rule::Fixed(v) => out.extend_from_slice(v.as_bytes()),
            Rule::Email => self.email(value, attempt, out),
            Rule::Name => {
                let d = d(value);
                push_all(
                    out,
                    &[
                        pick(FIRST_NAMES, d[0], d[1]),
                        " ",
                        pick(LAST_NAMES, d[2], d[3]),
                    ],
                );
                suffix(out, attempt, &d);
            }
            Rule::FirstName => {
                let d = d(value);
                out.extend_from_slice(pick(FIRST_NAMES, d[0], d[1]).as_bytes());
                suffix(out, attempt, &d);
            }
            Rule::LastName => {
                let d = d(value);
                out.extend_from_slice(pick(LAST_NAMES, d[2], d[3]).as_bytes());
                suffix(out, attempt, &d);
            }
            Rule::Address => {
                let d = d(value);
                push_number(out, 1 + u64::from(u16::from_le_bytes([d[0], d[1]]) % 9999));
                push_all(
                    out,
                    &[
                        " ",
                        pick(STREETS, d[2], d[3]),
                        " ",
                        pick(STREET_KINDS, d[4], d[5]),
                    ],
                );
                suffix(out, attempt, &d);
            }
            Rule::Phone => self.phone(value, attempt, out),
            Rule::Text => {
                let d = d(value);
                let target = utf8_chars(value).max(1);
                let start = out.len();
                let mut i = 0usize;
                while out.len() - start < target {
                    if out.len() > start {
                        out.push(b' ');
                    }
                    let byte = d[i % 32] as usize + i / 32;
                    out.extend_from_slice(LOREM[byte % LOREM.len()].as_bytes());
                    i += 1;
                }
                out.truncate(start + target);
                while out.len() > start && out[out.len() - 1] == b' ' {
                    out.pop();
                }
                suffix(out, attempt, &d);
            }
            Rule::Hash => {
                let d = d(value);
                if bytea {
                    out.extend_from_slice(b"\\x");
                    push_hex(out, &d);
                } else {
                    push_hex(out, &d[..16]);
                }
            }
            Rule::Card => self.card(value, attempt, out),
            Rule::Iban => self.iban(value, attempt, out),
            Rule::Ip => self.ip(value, attempt, out),
            Rule::DateShift { days } => {
                let Some(day) = date::parse(value) else {
                    // infinity, BC dates: nothing personal to move.
                    out.extend_from_slice(value);
                    return Masked::Value;
                };
                let d = d(&value[..10]);
                let span = u64::from(*days) * 2;
                let n = u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) % span;
                let offset = if n < u64::from(*days) {
                    n as i64 - i64::from(*days)
                } else {
                    n as i64 - i64::from(*days) + 1
                };
                match date::format(day + offset) {
                    Some(shifted) => {
                        out.extend_from_slice(shifted.as_bytes());
                        out.extend_from_slice(&value[10..]);
                    }
                    None => out.extend_from_slice(value),
                }
            }
        }
        Masked::Value
    }

    /// Appends the replacement of something found inside free text: the
    /// same fake as the rule of its kind gives a whole column, so an email
    /// in a note and in `customers.email` mask alike.
    pub fn found_into(&self, kind: Kind, found: &[u8], attempt: u32, out: &mut Vec<u8>) {
        match kind {
            Kind::Email => self.email(found, attempt, out),
            Kind::Phone => self.phone(found, attempt, out),
            Kind::Card => self.card(found, attempt, out),
            Kind::Iban => self.iban(found, attempt, out),
            Kind::Ip => self.ip(found, attempt, out),
        }
    }

    fn email(&self, value: &[u8], attempt: u32, out: &mut Vec<u8>) {
        // Case and surrounding spaces do not make a different address.
        let trimmed = value.trim_ascii();
        let mut stack = [0u8; 128];
        let owned: Vec<u8>;
        let normal: &[u8] = if trimmed.is_ascii() && trimmed.len() <= stack.len() {
            let buf = &mut stack[..trimmed.len()];
            buf.copy_from_slice(trimmed);
            buf.make_ascii_lowercase();
            buf
        } else {
            owned = String::from_utf8_lossy(trimmed).to_lowercase().into_bytes();
            &owned
        };
        let d = self.digest("email", attempt, normal);
        let lower = |name: &str, out: &mut Vec<u8>| {
            out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
        };
        lower(pick(FIRST_NAMES, d[0], d[1]), out);
        out.push(b'.');
        lower(pick(LAST_NAMES, d[2], d[3]), out);
        out.push(b'.');
        push_hex(out, &d[4..8]);
        out.extend_from_slice(b"@example.com");
    }

    /// Every digit replaced, everything else kept (`+1 (415) 555-0143` →
    /// `+7 (031) 298-6654`); a value without digits becomes a made-up
    /// number.
    fn phone(&self, value: &[u8], attempt: u32, out: &mut Vec<u8>) {
        let d = self.digest("phone", attempt, value);
        let start = out.len();
        let mut digit = 0usize;
        for &c in value {
            if c.is_ascii_digit() {
                let byte = d[digit % 32].wrapping_add((digit / 32) as u8);
                digit += 1;
                out.push(b'0' + byte % 10);
            } else {
                out.push(c);
            }
        }
        if digit == 0 {
            out.truncate(start);
            out.extend_from_slice(b"555-01");
            push_two_digits(out, d[0] % 100);
        }
    }

    /// A card number that still passes the Luhn check, with the same first
    /// digit (the network) and punctuation.
    fn card(&self, value: &[u8], attempt: u32, out: &mut Vec<u8>) {
        let d = self.digest("card", attempt, value);
        let start = out.len();
        let mut n = 0usize;
        for &c in value {
            if c.is_ascii_digit() {
                let v = if n == 0 {
                    c - b'0'
                } else {
                    d[n % 32].wrapping_add((n / 32) as u8) % 10
                };
                out.push(b'0' + v);
                n += 1;
            } else {
                out.push(c);
            }
        }
        if (13..=19).contains(&n) {
            // Choose the check digit (the last) so the Luhn sum ends in 0:
            // the others, from the right, alternate doubled and not.
            let masked = &out[start..];
            let last = masked.iter().rposition(u8::is_ascii_digit).expect("digits");
            let sum: u32 = masked[..last]
                .iter()
                .rev()
                .filter(|b| b.is_ascii_digit())
                .enumerate()
                .map(|(i, b)| {
                    let v = u32::from(b - b'0');
                    if i % 2 == 0 {
                        let x = v * 2;
                        if x > 9 { x - 9 } else { x }
                    } else {
                        v
                    }
                })
                .sum();
            out[start + last] = b'0' + ((10 - sum % 10) % 10) as u8;
        }
    }

    /// An IBAN of the same country and layout with valid check digits.
    fn iban(&self, value: &[u8], attempt: u32, out: &mut Vec<u8>) {
        let d = self.digest("iban", attempt, value);
        let start = out.len();
        out.extend_from_slice(value);
        let masked = &mut out[start..];
        let mut letters = masked.iter().filter(|b| b.is_ascii_alphanumeric());
        let shaped = matches!(
            (letters.next(), letters.next(), letters.next(), letters.next(), letters.next()),
            (Some(a), Some(b), Some(_), Some(_), Some(_)) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic()
        );
        // Positions of the check digits.
        let mut check = [0usize; 2];
        let mut n = 0usize;
        for (i, c) in masked.iter_mut().enumerate() {
            if !c.is_ascii_alphanumeric() {
                continue;
            }
            if shaped && n < 4 {
                if n >= 2 {
                    check[n - 2] = i;
                }
                n += 1;
                continue;
            }
            let r = d[n % 32].wrapping_add((n / 32) as u8);
            *c = if c.is_ascii_digit() {
                b'0' + r % 10
            } else if c.is_ascii_uppercase() {
                b'A' + r % 26
            } else {
                b'a' + r % 26
            };
            n += 1;
        }
        if shaped {
            // 98 - (bban ‖ country ‖ "00" mod 97).
            let mut r = 0u32;
            let mut seen = 0;
            let mut country = [0u8; 2];
            for &c in masked.iter().filter(|b| b.is_ascii_alphanumeric()) {
                if seen < 2 {
                    country[seen] = c;
                }
                seen += 1;
                if seen <= 4 {
                    continue;
                }
                r = digit_mod(r, c);
            }
            for c in [country[0], country[1], b'0', b'0'] {
                r = digit_mod(r, c);
            }
            let digits = 98 - r;
            masked[check[0]] = b'0' + (digits / 10) as u8;
            masked[check[1]] = b'0' + (digits % 10) as u8;
        }
    }

    /// An address in 10.0.0.0/8 (IPv4) or fd00::/8 (IPv6); a `/prefix`
    /// is kept and the host bits under it cleared, so cidr values stay
    /// valid.
    fn ip(&self, value: &[u8], attempt: u32, out: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(value);
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().ok()),
            None => (text.as_ref(), None),
        };
        let d = self.digest("ip", attempt, addr.trim().as_bytes());
        let masked = match addr.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => {
                let bits = u32::from(Ipv4Addr::new(10, d[0], d[1], d[2]));
                let keep = prefix.map_or(32, |p| u32::from(p.min(32)));
                let mask = if keep == 0 {
                    0
                } else {
                    u32::MAX << (32 - keep)
                };
                IpAddr::V4(Ipv4Addr::from(bits & mask))
            }
            Ok(IpAddr::V6(_)) => {
                let mut bytes = [0u8; 16];
                bytes[0] = 0xfd;
                bytes[1..].copy_from_slice(&d[..15]);
                let bits = u128::from_be_bytes(bytes);
                let keep = prefix.map_or(128, |p| u32::from(p.min(128)));
                let mask = if keep == 0 {
                    0
                } else {
                    u128::MAX << (128 - keep)
                };
                IpAddr::V6(Ipv6Addr::from(bits & mask))
            }
            Err(_) => return self.phone(value, attempt, out),
        };
        match masked {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    push_number(out, u64::from(*octet));
                }
            }
            IpAddr::V6(v6) => {
                use std::io::Write as _;
                let _ = write!(out, "{v6}");
            }
        }
        if let Some((_, p)) = text.split_once('/') {
            out.push(b'/');
            out.extend_from_slice(p.as_bytes());
        }
    }
}

/// One character of an IBAN read into a running remainder modulo 97.
fn digit_mod(r: u32, c: u8) -> u32 {
    match c {
        b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
        b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
        _ => (r * 100 + u32::from(c.to_ascii_uppercase().wrapping_sub(b'A')) + 10) % 97,
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// ` 4821` after a fake drawn again for a unique column.
fn suffix(out: &mut Vec<u8>, attempt: u32, d: &[u8; 32]) {
    if attempt > 0 {
        out.push(b' ');
        push_number(out, u64::from(u16::from_le_bytes([d[30], d[31]])));
    }
}

fn push_all(out: &mut Vec<u8>, parts: &[&str]) {
    for p in parts {
        out.extend_from_slice(p.as_bytes());
    }
}

fn push_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_two_digits(out: &mut Vec<u8>, n: u8) {
    out.push(b'0' + n / 10);
    out.push(b'0' + n % 10);
}

/// Characters of UTF-8 text (bytes that do not continue a character).
pub fn utf8_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

fn pick<'a>(list: &[&'a str], a: u8, b: u8) -> &'a str {
    list[usize::from(u16::from_le_bytes([a, b])) % list.len()]
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Masker;
    use crate::find::{self, Kind, Kinds};
    use crate::policy::Rule;

    fn text(m: &Masker, rule: &Rule, value: &str) -> String {
        String::from_utf8(m.mask(rule, value.as_bytes(), 0).unwrap()).unwrap()
    }

    #[test]
    fn masks_are_deterministic_and_keyed() {
        let a = Masker::new(b"key one");
        let b = Masker::new(b"key two");
        let email = text(&a, &Rule::Email, "ada@lovelace.org");
        assert_eq!(email, text(&a, &Rule::Email, " ADA@Lovelace.org"));
        assert_ne!(email, text(&b, &Rule::Email, "ada@lovelace.org"));
        assert!(
            email.ends_with("@example.com") && !email.contains("lovelace.org"),
            "{email}"
        );
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id().len(), 16);
    }

    #[test]
    fn manifest_macs_depend_on_key_and_message() {
        let a = Masker::new(b"key one");
        let mac = a.manifest_mac(b"{}");
        assert_eq!(mac.len(), 64);
        assert_eq!(mac, a.manifest_mac(b"{}"));
        assert_ne!(mac, a.manifest_mac(b"{ }"));
        assert_ne!(mac, Masker::new(b"key two").manifest_mac(b"{}"));
        // Not the hash rule's output for the same bytes.
        assert!(!mac.starts_with(&text(&a, &crate::policy::Rule::Hash, "{}")));
    }

    #[test]
    fn phone_numbers_keep_their_shape() {
        let m = Masker::new(b"k");
        let phone = text(&m, &Rule::Phone, "+44 (20) 7946-0958");
        assert_eq!(phone.len(), "+44 (20) 7946-0958".len());
        assert!(phone.starts_with('+') && phone.contains(" (") && phone.contains('-'));
        assert_ne!(phone, "+44 (20) 7946-0958");
    }

    #[test]
    fn blank_values_stay_blank_under_every_rule_but_null() {
        let m = Masker::new(b"k");
        for rule in [
            Rule::Email,
            Rule::Name,
            Rule::FirstName,
            Rule::LastName,
            Rule::Phone,
            Rule::Address,
            Rule::Text,
            Rule::Hash,
            Rule::Card,
            Rule::Iban,
            Rule::Ip,
            Rule::Fixed("x".into()),
            Rule::DateShift { days: 3 },
            Rule::Keep,
            Rule::Scrub,
            Rule::Verbatim,
        ] {
            for blank in ["", " ", "  \t"] {
                assert_eq!(text(&m, &rule, blank), blank, "{rule:?}");
            }
        }
        assert_eq!(m.mask(&Rule::Null, b"", 0), None);
    }

    #[test]
    fn dates_shift_within_the_window_and_keep_the_time() {
        let m = Masker::new(b"k");
        for value in ["2026-01-02 10:11:12", "2000-02-29", "1815-12-10"] {
            let shifted = text(&m, &Rule::DateShift { days: 5 }, value);
            assert_eq!(shifted.len(), value.len());
            assert_eq!(shifted[10..], value[10..]);
            let from = crate::date::parse(value.as_bytes()).unwrap();
            let to = crate::date::parse(shifted.as_bytes()).unwrap();
            assert!((1..=5).contains(&(to - from).abs()), "{value} -> {shifted}");
        }
        assert_eq!(
            text(&m, &Rule::DateShift { days: 5 }, "infinity"),
            "infinity"
        );
    }

    #[test]
    fn cards_ibans_and_ips_stay_valid() {
        let m = Masker::new(b"k");
        let card = text(&m, &Rule::Card, "4111 1111 1111 1111");
        assert_ne!(card, "4111 1111 1111 1111");
        assert!(card.starts_with('4') && card.len() == 19, "{card}");
        let mut spans = Vec::new();
        find::find(card.as_bytes(), Kinds::ALL, &mut spans);
        assert_eq!(spans.len(), 1, "{card} is a valid card number");
        assert_eq!(spans[0].kind, Kind::Card);

        let iban = text(&m, &Rule::Iban, "DE89 3704 0044 0532 0130 00");
        assert!(iban.starts_with("DE") && iban.len() == 27, "{iban}");
        assert_ne!(iban, "DE89 3704 0044 0532 0130 00");
        let compact: Vec<u8> = iban.bytes().filter(|b| *b != b' ').collect();
        assert!(find::iban_valid(&compact), "{iban}");

        let v4 = text(&m, &Rule::Ip, "192.168.7.20");
        assert!(v4.starts_with("10."), "{v4}");
        assert_eq!(text(&m, &Rule::Ip, "192.168.7.20"), v4);
        let net = text(&m, &Rule::Ip, "192.168.7.0/24");
        assert!(net.starts_with("10.") && net.ends_with(".0/24"), "{net}");
        let v6 = text(&m, &Rule::Ip, "2001:db8::7334");
        assert!(v6.starts_with("fd"), "{v6}");
        assert_eq!(
            text(&m, &Rule::Ip, "not an ip 12"),
            text(&m, &Rule::Ip, "not an ip 12")
        );
    }

    #[test]
    fn found_values_mask_like_their_rule() {
        let m = Masker::new(b"k");
        let mut out = Vec::new();
        m.found_into(Kind::Email, b"Ada@Lovelace.org", 0, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            text(&m, &Rule::Email, "ada@lovelace.org")
        );
    }

    #[test]
    fn other_rules() {
        let m = Masker::new(b"k");
        assert_eq!(m.mask(&Rule::Null, b"x", 0), None);
        assert_eq!(text(&m, &Rule::Keep, "x"), "x");
        assert_eq!(text(&m, &Rule::Fixed("free".into()), "pro"), "free");
        assert_eq!(text(&m, &Rule::Hash, "x").len(), 32);
        let mut out = Vec::new();
        m.mask_into(&Rule::Hash, b"\\x0102", 0, true, &mut out);
        assert!(out.starts_with(b"\\x") && out.len() == 66);
        let lorem = text(&m, &Rule::Text, "call me at home, any time after six");
        assert!(lorem.len() <= 35 && !lorem.contains("call"), "{lorem}");
        assert_ne!(text(&m, &Rule::Name, "Ada Lovelace"), "Ada Lovelace");
        let retry = String::from_utf8(m.mask(&Rule::Name, b"Ada Lovelace", 1).unwrap()).unwrap();
        assert_ne!(retry, text(&m, &Rule::Name, "Ada Lovelace"));
        let s = m.sample_score("public.t", b"1");
        assert!((0.0..1.0).contains(&s));
    }
}
