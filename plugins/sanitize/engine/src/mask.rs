//! Deterministic masking under a secret key: every fake value is derived
//! from HMAC-SHA256(key, rule ‖ attempt ‖ value). The same value masked by
//! the same rule gives the same result in every table and every run with
//! the same key (joins on a masked email still match); without the key the
//! originals cannot be recovered or confirmed by guessing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::date;
use super::policy::Rule;
use super::words::{FIRST_NAMES, LAST_NAMES, LOREM, STREET_KINDS, STREETS};

type HmacSha256 = Hmac<Sha256>;

/// The masking key, ready to hash with.
#[derive(Clone)]
pub struct Masker {
    mac: HmacSha256,
}

impl Masker {
    pub fn new(key: &[u8]) -> Masker {
        Masker {
            mac: HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length"),
        }
    }

    /// A public name for the key, recorded in manifests: it tells two keys
    /// apart without revealing either.
    pub fn key_id(&self) -> String {
        hex(&self.digest("key-id", 0, b"")[..8])
    }

    /// The key of pg_dump's `\restrict` lines in the output (see rewrite).
    pub fn restrict_key(&self) -> String {
        hex(&self.digest("psql-restrict", 0, b""))
    }

    fn digest(&self, domain: &str, attempt: u32, value: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(&attempt.to_le_bytes());
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// A number in [0, 1) drawn from `key` for the table: whether a root row
    /// is sampled, the same way every run.
    pub fn sample_score(&self, table: &str, key: &[u8]) -> f64 {
        let mut input = table.as_bytes().to_vec();
        input.push(0);
        input.extend_from_slice(key);
        let d = self.digest("sample", 0, &input);
        let n = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
        (n >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The masked form of `value` (decoded, not NULL) under `rule`; `None`
    /// means NULL. `attempt` > 0 asks for another value, to resolve a clash
    /// in a unique column.
    pub fn mask(&self, rule: &Rule, value: &[u8], attempt: u32) -> Option<Vec<u8>> {
        let d = |input: &[u8]| self.digest(rule.name(), attempt, input);
        let suffix = |d: &[u8; 32]| {
            if attempt == 0 {
                String::new()
            } else {
                format!(" {}", u16::from_le_bytes([d[30], d[31]]))
            }
        };
        let out = match rule {
            Rule::Keep => return Some(value.to_vec()),
            Rule::Null => return None,
            Rule::Fixed(v) => return Some(v.as_bytes().to_vec()),
            Rule::Email => {
                // Case and spaces do not make a different address.
                let normal = String::from_utf8_lossy(value).trim().to_lowercase();
                let d = d(normal.as_bytes());
                format!(
                    "{}.{}.{}@example.com",
                    pick(FIRST_NAMES, d[0], d[1]).to_lowercase(),
                    pick(LAST_NAMES, d[2], d[3]).to_lowercase(),
                    hex(&d[4..8])
                )
            }
            Rule::Name => {
                let d = d(value);
                format!(
                    "{} {}{}",
                    pick(FIRST_NAMES, d[0], d[1]),
                    pick(LAST_NAMES, d[2], d[3]),
                    suffix(&d)
                )
            }
            Rule::FirstName => {
                let d = d(value);
                format!("{}{}", pick(FIRST_NAMES, d[0], d[1]), suffix(&d))
            }
            Rule::LastName => {
                let d = d(value);
                format!("{}{}", pick(LAST_NAMES, d[2], d[3]), suffix(&d))
            }
            Rule::Address => {
                let d = d(value);
                format!(
                    "{} {} {}{}",
                    1 + u16::from_le_bytes([d[0], d[1]]) % 9999,
                    pick(STREETS, d[2], d[3]),
                    pick(STREET_KINDS, d[4], d[5]),
                    suffix(&d)
                )
            }
            Rule::Phone => {
                let d = d(value);
                let mut digit = 0usize;
                let mut out: String = String::from_utf8_lossy(value)
                    .chars()
                    .map(|c| {
                        if c.is_ascii_digit() {
                            let byte = d[digit % 32].wrapping_add((digit / 32) as u8);
                            digit += 1;
                            char::from(b'0' + byte % 10)
                        } else {
                            c
                        }
                    })
                    .collect();
                if digit == 0 {
                    // No digits to replace: a phone number made up whole.
                    out = format!("555-01{:02}", d[0] % 100);
                }
                out
            }
            Rule::Text => {
                let d = d(value);
                let target = String::from_utf8_lossy(value).chars().count().max(1);
                let mut out = String::with_capacity(target + 12);
                let mut i = 0usize;
                while out.len() < target {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    let byte = d[i % 32] as usize + i / 32;
                    out.push_str(LOREM[byte % LOREM.len()]);
                    i += 1;
                }
                out.truncate(target);
                let out = out.trim_end().to_owned();
                format!("{out}{}", suffix(&d))
            }
            Rule::Hash => hex(&d(value)[..16]),
            Rule::DateShift { days } => {
                let Some(day) = date::parse(value) else {
                    // infinity, BC dates: nothing personal to move.
                    return Some(value.to_vec());
                };
                let d = d(&value[..10]);
                let span = u64::from(*days) * 2;
                let n = u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) % span;
                let offset = if n < u64::from(*days) {
                    n as i64 - i64::from(*days)
                } else {
                    n as i64 - i64::from(*days) + 1
                };
                let Some(shifted) = date::format(day + offset) else {
                    return Some(value.to_vec());
                };
                let mut out = shifted.into_bytes();
                out.extend_from_slice(&value[10..]);
                return Some(out);
            }
        };
        Some(out.into_bytes())
    }
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
    fn phone_numbers_keep_their_shape() {
        let m = Masker::new(b"k");
        let phone = text(&m, &Rule::Phone, "+44 (20) 7946-0958");
        assert_eq!(phone.len(), "+44 (20) 7946-0958".len());
        assert!(phone.starts_with('+') && phone.contains(" (") && phone.contains('-'));
        assert_ne!(phone, "+44 (20) 7946-0958");
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
    fn other_rules() {
        let m = Masker::new(b"k");
        assert_eq!(m.mask(&Rule::Null, b"x", 0), None);
        assert_eq!(text(&m, &Rule::Keep, "x"), "x");
        assert_eq!(text(&m, &Rule::Fixed("free".into()), "pro"), "free");
        assert_eq!(text(&m, &Rule::Hash, "x").len(), 32);
        let lorem = text(&m, &Rule::Text, "call me at home, any time after six");
        assert!(lorem.len() <= 35 && !lorem.contains("call"), "{lorem}");
        assert_ne!(text(&m, &Rule::Name, "Ada Lovelace"), "Ada Lovelace");
        let retry = String::from_utf8(m.mask(&Rule::Name, b"Ada Lovelace", 1).unwrap()).unwrap();
        assert_ne!(retry, text(&m, &Rule::Name, "Ada Lovelace"));
        let s = m.sample_score("public.t", b"1");
        assert!((0.0..1.0).contains(&s));
    }
}
