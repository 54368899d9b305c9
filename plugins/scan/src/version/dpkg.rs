//! Debian version ordering (deb-version(7)): `[epoch:]upstream[-revision]`,
//! compared epoch first, then upstream, then revision, each with dpkg's
//! `verrevcmp`: runs of non-digits compare character by character where `~`
//! sorts before everything (even the end of the string) and letters before
//! other characters; runs of digits compare numerically.

use std::cmp::Ordering;

/// A version split into its three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts<'a> {
    epoch: u64,
    upstream: &'a str,
    revision: &'a str,
}

fn split(version: &str) -> Parts<'_> {
    let version = version.trim();
    // The epoch is the digits before the first colon; anything else before a
    // colon is not an epoch (dpkg would reject it; compare it as text).
    let (epoch, rest) = match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, version),
    };
    // The revision follows the last hyphen: the upstream part may contain hyphens.
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    Parts {
        epoch,
        upstream,
        revision,
    }
}

/// Orders two Debian versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (split(a), split(b));
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream.as_bytes(), b.upstream.as_bytes()))
        .then_with(|| verrevcmp(a.revision.as_bytes(), b.revision.as_bytes()))
}

/// The weight of a character in a non-digit run; `None` is the end of the run.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{self, Equal, Greater, Less};

    use super::compare;

    #[track_caller]
    fn check(a: &str, expected: Ordering, b: &str) {
        assert_eq!(compare(a, b), expected, "{a} vs {b}");
        assert_eq!(compare(b, a), expected.reverse(), "{b} vs {a}");
    }

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        check("1.0~rc1", Less, "1.0");
        check("1.0~rc1", Greater, "1.0~~");
        check("1.0~~a", Greater, "1.0~~");
        check("1.0~", Less, "1.0");
        check("1.0~beta", Less, "1.0~rc");
        check("2.4.56-1~deb11u1", Less, "2.4.56-1");
        check("2.4.56-1~deb11u1", Greater, "2.4.55-1");
        check(
            "111.0.5563.110-1~deb11u1",
            Greater,
            "111.0.5563.64-1~deb11u1",
        );
    }

    #[test]
    fn epochs_win_over_everything() {
        check("1:0.1", Greater, "99.9");
        check("2:1.20.11-1+deb11u6", Greater, "1:1.20.11-1+deb11u6");
        check("0:1.0", Equal, "1.0");
        check("1:1.0-1", Equal, "1:1.0-1");
    }

    #[test]
    fn revisions_compare_after_upstream() {
        check("1.0-1", Less, "1.0-2");
        check("1.0-10", Greater, "1.0-9");
        check("1.0", Less, "1.0-1");
        check("1.0-0", Equal, "1.0");
        check("1.0-1+deb11u1", Greater, "1.0-1");
        check("1.0-1+deb11u2", Greater, "1.0-1+deb11u1");
        check("1.0-1+deb11u10", Greater, "1.0-1+deb11u9");
        check("1.0-1+b1", Greater, "1.0-1");
        // The revision is after the last hyphen: upstream may contain hyphens.
        check("1.2-3-4", Greater, "1.2-3-3");
        check("1.2-3-4", Greater, "1.2-3");
    }

    #[test]
    fn digits_compare_numerically_and_ignore_leading_zeros() {
        check("1.10", Greater, "1.9");
        check("1.010", Equal, "1.10");
        check("1.0010", Greater, "1.9");
        check("20190114+really20220913-0+deb10u1", Greater, "20190114-1");
        check("1.2.3", Greater, "1.2");
        check("9", Less, "10");
    }

    #[test]
    fn letters_sort_before_other_characters() {
        check("1.0a", Greater, "1.0");
        check("1.0a", Less, "1.0+");
        check("1.0a", Less, "1.0.");
        check("1.0+dfsg", Greater, "1.0");
        check("1.0.1", Greater, "1.0+dfsg");
        check("1.0-1ubuntu1", Greater, "1.0-1");
        check("1.0a", Less, "1.0b");
        check("1.0Z", Less, "1.0a");
        check("102.9.0esr-1~deb11u1", Greater, "102.8.0esr-1~deb11u1");
    }

    #[test]
    fn real_security_versions() {
        check("2.36.1-8+deb11u1", Greater, "2.36.1-8");
        check("7.74.0-1.3+deb11u7", Greater, "7.74.0-1.3+deb11u3");
        check("1.1.1n-0+deb11u4", Greater, "1.1.1n-0+deb11u3");
        check("1.1.1n-0+deb11u4", Less, "1.1.1o-0");
        check("15.5-0+deb12u1", Less, "15.6-0+deb12u1");
        check("3.0.11-1~deb12u2", Greater, "3.0.11-1~deb12u1");
        check("3.0.11-1~deb12u2", Less, "3.0.11-1");
    }
}
