//! Spotting columns that hold personal data: by name (email, phone, name,
//! address and its second lines, birth dates, secrets such as passwords and
//! tokens, pictures…), by type (inet), and by content (what
//! [`find`](super::find) finds in sampled values).

use super::copy;
use super::find::{self, Counts, Kind, Kinds, Span};
use super::schema::TypeClass;

/// How many non-NULL values of each column are sampled for the report.
const SAMPLES: u32 = 500;

/// What the values of one column were found to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentStats {
    /// Values looked at.
    pub sampled: u64,
    /// Values in which something was found.
    pub values_with_pii: u64,
    pub found: Counts,
    /// The dump line of the first value with something found.
    pub first_line: Option<usize>,
}

impl ContentStats {
    /// Looks at one field (escaped COPY text) unless enough were sampled
    /// and `all` is false.
    pub fn sample(
        &mut self,
        field: &[u8],
        kinds: Kinds,
        all: bool,
        line: usize,
        spans: &mut Vec<Span>,
    ) {
        if (!all && self.sampled >= u64::from(SAMPLES)) || field == copy::NULL {
            return;
        }
        self.sampled += 1;
        let decoded;
        let value = if field.contains(&b'\\') {
            decoded = copy::decode(field);
            &decoded[..]
        } else {
            field
        };
        find::find(value, kinds, spans);
        if !spans.is_empty() {
            self.values_with_pii += 1;
            self.first_line.get_or_insert(line);
            for s in spans.iter() {
                self.found.add(s.kind);
            }
        }
    }

    /// "40 of 500 sampled values hold email addresses, phone numbers".
    pub fn summary(&self) -> Option<String> {
        (self.found.total() > 0).then(|| {
            let kinds: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| self.found.get(**k) > 0)
                .map(|k| k.plural())
                .collect();
            format!(
                "{} of {} sampled values hold {}",
                self.values_with_pii,
                self.sampled,
                kinds.join(", ")
            )
        })
    }
}

/// Why a column looks personal, and which rule fits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub why: String,
    /// The rule to suggest (`"email"`, `"hash"`, …).
    pub suggest: &'static str,
}

/// Words in column names that mean personal data on their own, with the
/// rule that fits them.
const PII_WORDS: &[(&str, &str)] = &[
    ("email", "email"),
    ("mail", "email"),
    ("phone", "phone"),
    ("mobile", "phone"),
    ("cell", "phone"),
    ("tel", "phone"),
    ("telephone", "phone"),
    ("fax", "phone"),
    ("address", "address"),
    ("addr", "address"),
    ("street", "address"),
    ("apartment", "address"),
    ("apt", "address"),
    ("housenumber", "address"),
    ("zip", "null"),
    ("zipcode", "null"),
    ("postcode", "null"),
    ("postal", "null"),
    ("ssn", "hash"),
    ("sin", "hash"),
    ("nin", "hash"),
    ("social", "hash"),
    ("national", "hash"),
    ("birth", "date-shift"),
    ("birthday", "date-shift"),
    ("birthdate", "date-shift"),
    ("dob", "date-shift"),
    ("passport", "hash"),
    ("license", "hash"),
    ("licence", "hash"),
    ("iban", "iban"),
    ("bic", "keep"),
    ("card", "card"),
    ("pan", "card"),
    ("cvv", "null"),
    ("cvc", "null"),
    ("tax", "hash"),
    ("ip", "ip"),
    ("mac", "hash"),
    ("firstname", "first-name"),
    ("lastname", "last-name"),
    ("surname", "last-name"),
    ("fullname", "name"),
    ("username", "hash"),
    ("login", "hash"),
    ("nickname", "name"),
    ("maiden", "last-name"),
    // Secrets: never copy them, whoever they belong to.
    ("password", "hash"),
    ("passwd", "hash"),
    ("pwd", "hash"),
    ("passphrase", "hash"),
    ("secret", "hash"),
    ("token", "hash"),
    ("hash", "hash"),
    ("salt", "hash"),
    ("apikey", "hash"),
    ("otp", "null"),
    ("totp", "null"),
    ("mfa", "null"),
    ("pin", "null"),
    ("credential", "hash"),
    ("credentials", "hash"),
    ("signature", "null"),
    // Pictures of people, and where they are kept.
    ("picture", "null"),
    ("photo", "null"),
    ("image", "null"),
    ("avatar", "null"),
    ("portrait", "null"),
    ("selfie", "null"),
    ("fingerprint", "null"),
];

/// Words before `key` that make it a secret (`api_key`, `private_key`).
const SECRET_KEYS: &[&str] = &[
    "api",
    "secret",
    "private",
    "access",
    "auth",
    "signing",
    "encryption",
    "session",
    "recovery",
];

/// Words that make a following `name` a person's name.
const PERSON_PREFIXES: &[&str] = &[
    "first",
    "last",
    "full",
    "middle",
    "given",
    "family",
    "maiden",
    "display",
    "contact",
    "user",
    "customer",
    "person",
    "sur",
    "owner",
    "holder",
    "account",
    "billing",
    "shipping",
    "ship",
    "legal",
    "real",
    "nick",
    "patient",
    "employee",
    "member",
    "client",
    "recipient",
    "sender",
    "buyer",
    "guardian",
    "parent",
    "spouse",
    "emergency",
    "beneficiary",
    "payee",
    "cardholder",
    "student",
    "teacher",
    "driver",
    "passenger",
    "guest",
    "applicant",
    "candidate",
];

/// Why the column looks personal from its name and type, if it does.
pub fn verdict(column: &str, class: TypeClass) -> Option<Verdict> {
    if class == TypeClass::Network {
        return Some(Verdict {
            why: "its type holds IP addresses".into(),
            suggest: "ip",
        });
    }
    let words = words(column);
    // `address_id`, `email_key`: a key pointing at personal data, not the data.
    if words.len() > 1
        && matches!(
            words.last().map(String::as_str),
            Some(
                "id" | "uuid"
                    | "fk"
                    | "count"
                    | "type"
                    | "kind"
                    | "status"
                    | "at"
                    | "on"
                    | "verified"
                    | "confirmed"
            )
        )
    {
        return None;
    }
    let by_name = name_verdict(&words);
    match class {
        // Numbers, uuids, booleans: `phone_count`, `ip_port` are not
        // personal by name.
        TypeClass::Atomic => None,
        // bytea is personal when it is a picture, a signature or a secret.
        TypeClass::Bytes => by_name.filter(|v| matches!(v.suggest, "null" | "hash")),
        // A date is personal when it is a birthday (`last_login` is not).
        TypeClass::Date | TypeClass::Timestamp => by_name.filter(|v| v.suggest == "date-shift"),
        // Arrays, json, composite values: masked inside.
        TypeClass::Structured => by_name.map(|v| Verdict {
            suggest: if v.suggest == "date-shift" {
                "keep"
            } else {
                "scrub"
            },
            ..v
        }),
        TypeClass::Text { .. } | TypeClass::Network => by_name,
    }
}

fn name_verdict(words: &[String]) -> Option<Verdict> {
    for (i, word) in words.iter().enumerate() {
        // `address2`, `line2`: a numbered second line of the same thing.
        let stem = word.trim_end_matches(|c: char| c.is_ascii_digit());
        if let Some((w, suggest)) = PII_WORDS.iter().find(|(w, _)| *w == stem) {
            return Some(Verdict {
                why: format!("its name has `{w}`"),
                suggest,
            });
        }
        // `addressline2`, `emailaddress`, `passwordhash`: run together.
        for prefix in [
            "email",
            "phone",
            "address",
            "password",
            "birth",
            "surname",
            "firstname",
            "lastname",
        ] {
            if stem.len() > prefix.len() && stem.starts_with(prefix) {
                let suggest = PII_WORDS
                    .iter()
                    .find(|(w, _)| *w == prefix)
                    .map_or("hash", |(_, s)| s);
                return Some(Verdict {
                    why: format!("its name has `{prefix}`"),
                    suggest,
                });
            }
        }
        if stem == "key" && i > 0 && SECRET_KEYS.contains(&words[i - 1].as_str()) {
            return Some(Verdict {
                why: format!("its name has `{}_key`", words[i - 1]),
                suggest: "hash",
            });
        }
        if stem == "name"
            && (words.len() == 1 || (i > 0 && PERSON_PREFIXES.contains(&words[i - 1].as_str())))
        {
            let suggest = match words.get(i.wrapping_sub(1)).map(String::as_str) {
                Some("first" | "given") => "first-name",
                Some("last" | "family" | "sur" | "maiden") => "last-name",
                _ => "name",
            };
            return Some(Verdict {
                why: "its name looks like a person's name".into(),
                suggest,
            });
        }
    }
    None
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
    use super::{ContentStats, verdict};
    use crate::find::{Kind, Kinds};
    use crate::schema::TypeClass;

    const TEXT: TypeClass = TypeClass::Text { max_chars: None };

    #[test]
    fn names_that_look_like_pii() {
        for (name, suggest) in [
            ("email", "email"),
            ("contact_email", "email"),
            ("EmailAddress", "email"),
            ("phoneNumber", "phone"),
            ("first_name", "first-name"),
            ("name", "name"),
            ("ship_name", "name"),
            ("birth_date", "date-shift"),
            ("ssn", "hash"),
            ("street_address", "address"),
            ("address2", "address"),
            ("address_line_2", "address"),
            ("addressline2", "address"),
            ("ip_address", "ip"),
            ("password", "hash"),
            ("password_hash", "hash"),
            ("api_key", "hash"),
            ("apiKey", "hash"),
            ("access_token", "hash"),
            ("secret_answer", "hash"),
            ("photo_path", "null"),
        ] {
            let v = verdict(name, TEXT).unwrap_or_else(|| panic!("{name} is not flagged"));
            assert_eq!(v.suggest, suggest, "{name}");
        }
        for name in [
            "id",
            "product_name",
            "created_at",
            "total",
            "status",
            "description",
            "shipping_address_id",
            "email_verified",
            "phone_count",
            "keyword",
            "primary_key",
        ] {
            assert_eq!(verdict(name, TEXT), None, "{name}");
        }
    }

    #[test]
    fn types_decide_too() {
        // Pictures are bytea; a number is never personal by its name alone.
        assert!(verdict("picture", TypeClass::Bytes).is_some());
        assert!(verdict("photo", TypeClass::Bytes).is_some());
        assert_eq!(verdict("payload", TypeClass::Bytes), None);
        assert_eq!(verdict("phone", TypeClass::Atomic), None);
        assert_eq!(verdict("address", TypeClass::Bytes), None);
        assert_eq!(verdict("last_login", TypeClass::Timestamp), None);
        assert_eq!(
            verdict("birthday", TypeClass::Date).unwrap().suggest,
            "date-shift"
        );
        assert_eq!(
            verdict("phones", TypeClass::Structured).unwrap().suggest,
            "scrub"
        );
        let ip = verdict("last_seen_from", TypeClass::Network).unwrap();
        assert_eq!(ip.suggest, "ip");
    }

    #[test]
    fn content_is_counted_on_samples() {
        let mut stats = ContentStats::default();
        let mut spans = Vec::new();
        for (i, v) in ["a@b.co", "x", "call +44 20 7946 0958", "\\N", "c@d.org"]
            .iter()
            .enumerate()
        {
            stats.sample(v.as_bytes(), Kinds::ALL, false, 10 + i, &mut spans);
        }
        assert_eq!(stats.sampled, 4);
        assert_eq!(stats.found.get(Kind::Email), 2);
        assert_eq!(stats.found.get(Kind::Phone), 1);
        assert_eq!(stats.first_line, Some(10));
        assert_eq!(
            stats.summary().unwrap(),
            "3 of 4 sampled values hold email addresses, phone numbers"
        );
    }
}
