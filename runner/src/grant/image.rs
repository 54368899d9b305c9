//! Image references, checked against the distribution grammar
//! (`[domain/]path[:tag][@digest]`, the grammar of Docker's
//! distribution/reference package) before they are matched or looked up; or
//! an image ID (`sha256:<hex>` or a hex prefix of at least 12 digits).
//!
//! Written here rather than taken from a crate: the grammar is a dozen rules,
//! and the crates that parse it are either partial or bring a registry client.

use std::fmt;

/// A parsed image name as a plugin or tasks.toml gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageName {
    Reference(ImageRef),
    /// `sha256:` + hex, or a bare hex prefix (at least 12 digits).
    Id(String),
}

/// `[domain/]path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `None` means Docker Hub (`docker.io`).
    pub domain: Option<String>,
    /// `library/busybox`, `run-test/postgres`.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    Empty,
    TooLong,
    BadChar(char),
    BadDomain(String),
    BadPathComponent(String),
    BadTag(String),
    BadDigest(String),
}

impl fmt::Display for ImageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageProblem::Empty => f.write_str("it is empty"),
            ImageProblem::TooLong => f.write_str("it is longer than 255 characters"),
            ImageProblem::BadChar(c) if c.is_ascii_graphic() => {
                write!(f, "it contains `{c}`, which no image reference holds")
            }
            ImageProblem::BadChar(c) => write!(
                f,
                "it contains U+{:04X}, which no image reference holds",
                *c as u32
            ),
            ImageProblem::BadDomain(d) => write!(f, "`{d}` is not a registry host[:port]"),
            ImageProblem::BadPathComponent(p) => write!(
                f,
                "`{p}` is not a repository path component (lowercase letters and digits, separated by `.`, `_`, `__` or `-`)"
            ),
            ImageProblem::BadTag(t) => write!(f, "`{t}` is not a tag"),
            ImageProblem::BadDigest(d) => write!(f, "`{d}` is not a digest"),
        }
    }
}

const MAX_REFERENCE: usize = 255;

impl ImageName {
    pub fn parse(text: &str) -> Result<ImageName, ImageProblem> {
        if text.is_empty() {
            return Err(ImageProblem::Empty);
        }
        if text.len() > MAX_REFERENCE {
            return Err(ImageProblem::TooLong);
        }
        if let Some(bad) = text.chars().find(|&c| !is_reference_char(c)) {
            return Err(ImageProblem::BadChar(bad));
        }
        if let Some(hex) = text.strip_prefix("sha256:") {
            return if hex.len() == 64 && is_lower_hex(hex) {
                Ok(ImageName::Id(text.to_owned()))
            } else {
                Err(ImageProblem::BadDigest(text.to_owned()))
            };
        }
        if text.len() >= 12 && text.len() <= 64 && is_lower_hex(text) {
            return Ok(ImageName::Id(text.to_owned()));
        }
        ImageRef::parse(text).map(ImageName::Reference)
    }
}

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef, ImageProblem> {
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest)?;
                (rest, Some(digest.to_owned()))
            }
            None => (text, None),
        };
        // A tag follows the last `:` that comes after the last `/` (a `:`
        // before it belongs to the domain's port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                check_tag(tag)?;
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (domain, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                check_domain(first)?;
                (Some(first.to_owned()), rest)
            }
            _ => (None, name),
        };
        for component in path.split('/') {
            check_path_component(component)?;
        }
        Ok(ImageRef {
            domain,
            path: path.to_owned(),
            tag,
            digest,
        })
    }

    /// The names this reference is known by, for matching grants: the familiar
    /// form (`busybox:latest`, `run-test/postgres:15`), the same without an
    /// implied `:latest`, and the fully qualified form
    /// (`docker.io/library/busybox:latest`); with a digest, `name@digest`.
    pub fn candidates(&self) -> Vec<String> {
        let hub = matches!(
            self.domain.as_deref(),
            None | Some("docker.io" | "index.docker.io")
        );
        let familiar_path = if hub {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            format!(
                "{}/{}",
                self.domain.as_deref().unwrap_or_default(),
                self.path
            )
        };
        let qualified_path = if hub {
            if self.path.contains('/') {
                format!("docker.io/{}", self.path)
            } else {
                format!("docker.io/library/{}", self.path)
            }
        } else {
            familiar_path.clone()
        };
        let mut names = Vec::new();
        if let Some(digest) = &self.digest {
            names.push(format!("{familiar_path}@{digest}"));
            names.push(format!("{qualified_path}@{digest}"));
        }
        if self.digest.is_none() || self.tag.is_some() {
            let tag = self.tag.as_deref().unwrap_or("latest");
            names.push(format!("{familiar_path}:{tag}"));
            names.push(format!("{qualified_path}:{tag}"));
            if tag == "latest" {
                names.push(familiar_path.clone());
                names.push(qualified_path);
            }
        }
        names.dedup();
        names
    }

    /// The familiar form with its tag (`busybox:latest`), what `docker images` shows.
    pub fn familiar(&self) -> String {
        self.candidates()
            .into_iter()
            .find(|c| c.contains(':') || c.contains('@'))
            .unwrap_or_default()
    }

    /// The familiar `name:tag` (`:latest` implied) that `docker save NAME`
    /// writes as the image's name in the archive; none for a reference by
    /// digest alone, which names no tag.
    pub fn tagged(&self) -> Option<String> {
        if self.digest.is_some() && self.tag.is_none() {
            return None;
        }
        self.candidates().into_iter().find(|c| !c.contains('@'))
    }
}

fn is_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '[' | ']')
}

fn is_lower_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_digest(digest: &str) -> Result<(), ImageProblem> {
    let bad = || ImageProblem::BadDigest(digest.to_owned());
    let (algorithm, hex) = digest.split_once(':').ok_or_else(bad)?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '-', '_']).all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    if algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(bad())
    }
}

fn check_tag(tag: &str) -> Result<(), ImageProblem> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(ImageProblem::BadTag(tag.to_owned()))
    }
}

fn check_domain(domain: &str) -> Result<(), ImageProblem> {
    let bad = || ImageProblem::BadDomain(domain.to_owned());
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or_else(bad)?;
        inside.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (None, after.strip_prefix(':'))
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    Ok(())
}

/// `[a-z0-9]+` separated by `.`, `_`, `__` or one or more `-`.
fn check_path_component(component: &str) -> Result<(), ImageProblem> {
    let bad = || ImageProblem::BadPathComponent(component.to_owned());
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// A grant pattern for images: reference characters plus glob syntax.
pub fn check_image_pattern(pattern: &str) -> Result<(), ImageProblem> {
    if pattern.is_empty() {
        return Err(ImageProblem::Empty);
    }
    if pattern.len() > MAX_REFERENCE {
        return Err(ImageProblem::TooLong);
    }
    match pattern
        .chars()
        .find(|&c| !(is_reference_char(c) || matches!(c, '*' | '?' | '{' | '}' | ',' | '!')))
    {
        Some(bad) => Err(ImageProblem::BadChar(bad)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> ImageRef {
        match ImageName::parse(text) {
            Ok(ImageName::Reference(r)) => r,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn parses_the_usual_forms() {
        let r = reference("busybox");
        assert_eq!((r.domain, r.path.as_str(), r.tag), (None, "busybox", None));
        let r = reference("run-test/postgres:15");
        assert_eq!(
            (r.path.as_str(), r.tag.as_deref()),
            ("run-test/postgres", Some("15"))
        );
        let r = reference("localhost:5000/team/app:v1.2");
        assert_eq!(r.domain.as_deref(), Some("localhost:5000"));
        assert_eq!(
            (r.path.as_str(), r.tag.as_deref()),
            ("team/app", Some("v1.2"))
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = reference(&format!("ghcr.io/o/app@{digest}"));
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    }

    #[test]
    fn ids_are_ids() {
        let id = format!("sha256:{}", "0123456789ab".repeat(5) + "cdef");
        assert_eq!(ImageName::parse(&id), Ok(ImageName::Id(id.clone())));
        assert_eq!(
            ImageName::parse("0123456789ab"),
            Ok(ImageName::Id("0123456789ab".into()))
        );
        assert!(ImageName::parse("sha256:abc").is_err());
    }

    #[test]
    fn hostile_references_fail() {
        for text in [
            "",
            "busybox?x=1",
            "busybox#x",
            "busybox%2f..",
            "../busybox",
            "busybox/../x",
            "Busybox",
            "busy box",
            "busybox:",
            "busybox:-x",
            "/busybox",
            "busybox//x",
            "b\u{443}sybox",
            "host:port:x/y",
        ] {
            assert!(ImageName::parse(text).is_err(), "{text:?} should fail");
        }
    }

    #[test]
    fn candidates_cover_familiar_and_qualified_forms() {
        assert_eq!(
            reference("busybox").candidates(),
            [
                "busybox:latest",
                "docker.io/library/busybox:latest",
                "busybox",
                "docker.io/library/busybox"
            ]
        );
        assert_eq!(
            reference("docker.io/library/busybox:1.36").candidates(),
            ["busybox:1.36", "docker.io/library/busybox:1.36"]
        );
        assert_eq!(
            reference("run-test/postgres:15").familiar(),
            "run-test/postgres:15"
        );
    }

    #[test]
    fn the_tag_an_archive_names() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        for (text, tagged) in [
            ("busybox", Some("busybox:latest".to_owned())),
            (
                "docker.io/library/busybox:1.36",
                Some("busybox:1.36".to_owned()),
            ),
            (
                "localhost:5000/app",
                Some("localhost:5000/app:latest".to_owned()),
            ),
            (
                &format!("run-test/app:2@{digest}"),
                Some("run-test/app:2".to_owned()),
            ),
            (&format!("run-test/app@{digest}"), None),
        ] {
            assert_eq!(reference(text).tagged(), tagged, "{text}");
        }
    }

    #[test]
    fn patterns() {
        assert!(check_image_pattern("run-test/*").is_ok());
        assert!(check_image_pattern("busybox:latest").is_ok());
        assert!(check_image_pattern("run test").is_err());
        assert!(check_image_pattern("x#").is_err());
    }
}
