//! Names or globs of one grant kind, compiled once. `*` in a container,
//! volume or network glob can never match `/` or any other character outside
//! the name grammar, because names are checked against it before matching.

use std::ops::Deref;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone, Default)]
pub struct Patterns {
    written: Vec<String>,
    set: GlobSet,
}

impl Patterns {
    /// Compiles patterns already checked by `name::check_name_pattern` or
    /// `image::check_image_pattern` (tasks.toml parsing does that, with located
    /// errors); a glob syntax error (an unclosed `[`) is returned here.
    pub fn new(patterns: Vec<String>) -> Result<Patterns, globset::Error> {
        let mut set = GlobSetBuilder::new();
        for pattern in &patterns {
            set.add(
                GlobBuilder::new(pattern)
                    .literal_separator(false)
                    .backslash_escape(false)
                    .build()?,
            );
        }
        Ok(Patterns {
            set: set.build()?,
            written: patterns,
        })
    }

    /// For tests and built-in defaults: patterns known to be valid.
    pub fn of(patterns: &[&str]) -> Patterns {
        Patterns::new(patterns.iter().map(|p| (*p).to_owned()).collect()).expect("valid patterns")
    }

    pub fn allows(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    /// A needed name or glob is covered by the same text, or by a pattern
    /// that matches the text as a name.
    pub fn covers(&self, needed: &str) -> bool {
        self.written.iter().any(|p| p == needed) || self.allows(needed)
    }

    pub fn as_written(&self) -> &[String] {
        &self.written
    }
}

impl Deref for Patterns {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.written
    }
}

impl PartialEq for Patterns {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

impl Eq for Patterns {}
