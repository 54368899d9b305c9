//! Spotting columns that look like personal data but have no rule: by name
//! (email, phone, name, address, ssn, birth…) and by content (sampled values
//! that look like email addresses or phone numbers).

use super::copy;

/// How many non-NULL values of each column are looked at.
const SAMPLES: u32 = 500;
/// The share of sampled values that must look like PII to flag a column.
const THRESHOLD: f64 = 0.3;

/// What sampled values of one column look like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentStats {
    pub sampled: u32,
    pub emails: u32,
    pub phones: u32,
}

impl ContentStats {
    pub fn sample(&mut self, field: &[u8]) {
        if self.sampled >= SAMPLES || field == copy::NULL {
            return;
        }
        self.sampled += 1;
        let value = copy::decode(field);
        let value = String::from_utf8_lossy(&value);
        if looks_like_email(&value) {
            self.emails += 1;
        } else if looks_like_phone(&value) {
            self.phones += 1;
        }
    }

    /// Why the content looks like PII, if it does.
    pub fn verdict(&self) -> Option<String> {
        if self.sampled == 0 {
            return None;
        }
        let share = |n: u32| f64::from(n) / f64::from(self.sampled);
        let (count, what) = if share(self.emails) >= THRESHOLD {
            (self.emails, "email addresses")
        } else if share(self.phones) >= THRESHOLD {
            (self.phones, "phone numbers")
        } else {
            return None;
        };
        Some(format!(
            "{count} of {} sampled values look like {what}",
            self.sampled
        ))
    }
}

/// Something@domain.tld somewhere in the value (free text that contains an
/// email address counts too).
pub fn looks_like_email(value: &str) -> bool {
    value.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        let Some((local, domain)) = word.split_once('@') else {
            return false;
        };
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    })
}

/// 7 to 15 digits written with the punctuation of phone numbers, and at
/// least one space, dash, parenthesis or a leading `+` (plain digit strings
/// are ids, `12.5` is a number); ISO dates are not phone numbers.
pub fn looks_like_phone(value: &str) -> bool {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let punctuation = value.chars().any(|c| matches!(c, ' ' | '-' | '(' | ')'));
    let b = value.as_bytes();
    let iso_date = b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4]
            .iter()
            .chain(&b[5..7])
            .chain(&b[8..10])
            .all(u8::is_ascii_digit);
    !iso_date
        && (7..=15).contains(&digits)
        && (punctuation || value.starts_with('+'))
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '+'))
}

/// Words in column names that mean personal data on their own.
const PII_WORDS: &[&str] = &[
    "email",
    "mail",
    "phone",
    "mobile",
    "cell",
    "tel",
    "telephone",
    "fax",
    "address",
    "addr",
    "street",
    "zip",
    "zipcode",
    "postcode",
    "postal",
    "ssn",
    "sin",
    "nin",
    "social",
    "birth",
    "birthday",
    "birthdate",
    "dob",
    "passport",
    "license",
    "licence",
    "iban",
    "bic",
    "card",
    "pan",
    "cvv",
    "tax",
    "ip",
    "firstname",
    "lastname",
    "surname",
    "fullname",
    "username",
    "login",
    "nickname",
    "maiden",
];

/// Words that make a following `name` a person's name.
const PERSON_PREFIXES: &[&str] = &[
    "first", "last", "full", "middle", "given", "family", "maiden", "display", "contact", "user",
    "customer", "person", "sur", "owner", "holder", "account", "billing", "shipping", "legal",
    "real", "nick", "patient", "employee", "member", "client",
];

/// Why the column's name looks like PII, if it does.
pub fn name_verdict(column: &str) -> Option<String> {
    let words = words(column);
    // `address_id`, `email_key`: a key pointing at personal data, not the data.
    if words.len() > 1
        && matches!(
            words.last().map(String::as_str),
            Some("id" | "key" | "uuid")
        )
    {
        return None;
    }
    if let Some(word) = words.iter().find(|w| PII_WORDS.contains(&w.as_str())) {
        return Some(format!("its name has `{word}`"));
    }
    let is_person_name = words.iter().enumerate().any(|(i, w)| {
        w == "name"
            && (words.len() == 1 || (i > 0 && PERSON_PREFIXES.contains(&words[i - 1].as_str())))
    });
    is_person_name.then(|| "its name looks like a person's name".to_owned())
}

/// `birthDate`, `birth_date`, `BIRTH-DATE` → ["birth", "date"].
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::{ContentStats, looks_like_email, looks_like_phone, name_verdict};

    #[test]
    fn names_that_look_like_pii() {
        for name in [
            "email",
            "contact_email",
            "phoneNumber",
            "first_name",
            "name",
            "birth_date",
            "ssn",
            "street_address",
            "ip_address",
        ] {
            assert!(name_verdict(name).is_some(), "{name}");
        }
        for name in [
            "id",
            "product_name",
            "created_at",
            "total",
            "status",
            "description",
            "shipping_address_id",
        ] {
            assert_eq!(name_verdict(name), None, "{name}");
        }
    }

    #[test]
    fn values_that_look_like_pii() {
        assert!(looks_like_email("ada@lovelace.org"));
        assert!(looks_like_email("write to <ada@lovelace.org> please"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("@handle"));
        assert!(looks_like_phone("+44 20 7946 0958"));
        assert!(looks_like_phone("(212) 555-0143"));
        assert!(!looks_like_phone("1234567"));
        assert!(!looks_like_phone("2026-01-02"));
        assert!(!looks_like_phone("12"));
    }

    #[test]
    fn content_is_flagged_above_the_threshold() {
        let mut stats = ContentStats::default();
        for v in ["a@b.co", "x", "y", "\\N", "c@d.org"] {
            stats.sample(v.as_bytes());
        }
        assert_eq!(stats.sampled, 4);
        assert_eq!(
            stats.verdict().unwrap(),
            "2 of 4 sampled values look like email addresses"
        );
        let mut stats = ContentStats::default();
        stats.sample(b"hello");
        assert_eq!(stats.verdict(), None);
    }
}
