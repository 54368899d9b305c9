//! `.dockerignore` as Docker reads it (moby's `patternmatcher`): one pattern
//! a line, `#` comments, `!` re-includes, paths cleaned and relative to the
//! context (a leading `/` is dropped); `*` and `?` stop at `/`, `**` crosses
//! directories; a pattern that matches a directory excludes what is in it;
//! the last matching pattern decides. The Dockerfile and `.dockerignore`
//! itself are always sent, as the docker CLI does.

use globset::{GlobBuilder, GlobMatcher};

#[derive(Clone)]
pub struct Ignore {
    rules: Vec<Rule>,
    /// Whether the file has `!` patterns.
    exceptions: bool,
    /// Paths always sent.
    keep: Vec<String>,
}

#[derive(Clone)]
struct Rule {
    glob: GlobMatcher,
    /// `!pattern`: re-included.
    exception: bool,
}

impl Ignore {
    /// Nothing excluded.
    #[cfg(test)]
    pub fn none() -> Ignore {
        Ignore {
            rules: Vec::new(),
            exceptions: false,
            keep: Vec::new(),
        }
    }

    /// The patterns of a `.dockerignore`; `keep` are paths always sent.
    pub fn parse(text: &str, keep: &[&str]) -> Result<Ignore, String> {
        let mut rules = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = clean(pattern);
            if pattern.is_empty() {
                continue;
            }
            rules.push(Rule {
                glob: glob(&pattern)
                    .map_err(|e| format!(".dockerignore line {}: {e}", number + 1))?,
                exception,
            });
        }
        let exceptions = rules.iter().any(|r| r.exception);
        let keep: Vec<String> = keep.iter().map(|p| clean(p)).collect();
        for path in &keep {
            rules.push(Rule {
                glob: glob(&escape(path)).map_err(|e| e.to_string())?,
                exception: true,
            });
        }
        Ok(Ignore {
            rules,
            exceptions,
            keep,
        })
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    pub fn excluded(&self, path: &str) -> bool {
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut excluded = false;
        for rule in &self.rules {
            // As moby: an exclusion is tried only when not excluded yet, an
            // exception only when excluded.
            if rule.exception != excluded {
                continue;
            }
            let hit =
                rule.glob.is_match(path) || parents.iter().any(|parent| rule.glob.is_match(parent));
            if hit {
                excluded = !rule.exception;
            }
        }
        excluded
    }

    /// Whether anything beneath the excluded directory `dir` can be
    /// included again (then it is walked; otherwise skipped whole, as
    /// docker does).
    pub fn may_include_beneath(&self, dir: &str) -> bool {
        self.exceptions
            || self.keep.iter().any(|k| {
                k.strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

/// Go's `filepath.Clean`, then without a leading `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// A literal path as a pattern.
fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> Ignore {
        Ignore::parse(text, &["Dockerfile", ".dockerignore"]).unwrap()
    }

    #[test]
    fn patterns_exclude_files_and_what_is_in_excluded_directories() {
        let i = ignore("# comment\n\nnode_modules\n*.log\n/secret.txt\ndocs/**/*.md\n");
        for path in [
            "node_modules",
            "node_modules/x/y.js",
            "a.log",
            "secret.txt",
            "docs/a.md",
            "docs/x/y/b.md",
        ] {
            assert!(i.excluded(path), "{path}");
        }
        for path in ["src/a.log", "main.rs", "docs/a.txt", "Dockerfile"] {
            assert!(!i.excluded(path), "{path}");
        }
    }

    #[test]
    fn the_last_matching_pattern_decides_and_exceptions_re_include() {
        let i = ignore("*.md\n!README.md\nREADME.md\n!keep/**\nkeep/tmp\n");
        assert!(i.excluded("a.md"));
        assert!(i.excluded("README.md"));
        let i = ignore("*.md\n!README.md\n");
        assert!(!i.excluded("README.md"));
        assert!(i.may_include_beneath("docs"));
        let i = Ignore::parse("sub\n", &["sub/Dockerfile"]).unwrap();
        assert!(i.may_include_beneath("sub"));
        assert!(!i.may_include_beneath("other"));
        assert!(!i.excluded("sub/Dockerfile"));
        assert!(i.excluded("sub/x"));
    }

    #[test]
    fn the_dockerfile_and_dockerignore_are_always_sent() {
        let i = ignore("*\n");
        assert!(i.excluded("src"));
        assert!(!i.excluded("Dockerfile"));
        assert!(!i.excluded(".dockerignore"));
    }

    #[test]
    fn patterns_are_cleaned_like_paths() {
        let i = ignore("./a/../b/\n");
        assert!(i.excluded("b/c"));
        assert!(!i.excluded("a"));
    }
}
