//! The few files a scan needs, followed through an image's layers: each
//! layer adds or replaces them, and its whiteouts (`.wh.NAME` deletes NAME,
//! `.wh..wh..opq` empties a directory of what lower layers put there) remove
//! them. Everything else in a layer is skipped without being held.

use std::collections::BTreeMap;
use std::io::Read;

use super::{Inventory, Os, Package, apk, dpkg, os_release};

/// The most a tracked file may hold (a dpkg status of a very large image is
/// a few MiB).
const MAX_FILE: u64 = 64 << 20;

const OS_RELEASE: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];
const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_STATUS_D: &str = "var/lib/dpkg/status.d/";
const APK_INSTALLED: &str = "lib/apk/db/installed";

/// Whether a scan needs the file at `path` (normalised, relative).
pub fn wanted(path: &str) -> bool {
    OS_RELEASE.contains(&path)
        || path == DPKG_STATUS
        || path == APK_INSTALLED
        || path.strip_prefix(DPKG_STATUS_D).is_some_and(|name| {
            !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums")
        })
}

/// Whether removing `path` (a file or a whole directory) can remove a file
/// a scan tracks.
fn reaches_wanted(path: &str) -> bool {
    path.is_empty()
        || wanted(path)
        || [
            OS_RELEASE[0],
            OS_RELEASE[1],
            DPKG_STATUS,
            DPKG_STATUS_D,
            APK_INSTALLED,
        ]
        .iter()
        .any(|w| {
            w.strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// `./a//b/` → `a/b`.
pub fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Clone)]
enum Content {
    Data(Vec<u8>),
    Link(String),
}

#[derive(Debug, Clone)]
struct Tracked {
    layer: usize,
    content: Content,
}

/// The tracked files as the layers applied so far leave them, and the layer
/// that installed each package's current version.
#[derive(Debug, Default)]
pub struct Files {
    files: BTreeMap<String, Tracked>,
    /// (package, architecture, version) → the layer that installed it.
    introduced: BTreeMap<(String, String, String), usize>,
    changed: bool,
    /// While recording, what the current layer did (for the layer cache).
    recording: Option<Vec<Op>>,
}

/// One thing a layer did to the tracked files: replaying a layer's
/// operations leaves the files as reading the layer did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Whiteout(String),
    File(String, Vec<u8>),
    Link(String, String),
    HardLink(String, String),
    Remove(String),
}

impl Files {
    /// Starts recording what the next layer does.
    pub fn record(&mut self) {
        self.recording = Some(Vec::new());
    }

    /// What was done since [`Files::record`].
    pub fn recorded(&mut self) -> Vec<Op> {
        self.recording.take().unwrap_or_default()
    }

    fn note(&mut self, op: impl FnOnce() -> Op) {
        if let Some(ops) = &mut self.recording {
            ops.push(op());
        }
    }

    /// Replays a cached layer's operations as `layer`.
    pub fn replay(&mut self, layer: usize, ops: &[Op]) {
        for op in ops {
            match op {
                Op::Whiteout(path) => {
                    self.whiteout(layer, path);
                }
                Op::File(path, data) => self.insert(layer, path, Content::Data(data.clone())),
                Op::Link(path, target) => self.add_link(layer, path, target),
                Op::HardLink(path, target) => self.add_hard_link(layer, path, target),
                Op::Remove(path) => self.remove(path),
            }
        }
    }

    /// Applies a whiteout entry found in `layer`; true when `path` is one.
    pub fn whiteout(&mut self, layer: usize, path: &str) -> bool {
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (dir, name),
            None => ("", path),
        };
        let Some(hidden) = name.strip_prefix(".wh.") else {
            return false;
        };
        // Only whiteouts that can reach a tracked path are worth caching (a
        // layer may delete thousands of files elsewhere).
        let reached = if hidden == ".wh..opq" {
            dir.to_owned()
        } else if dir.is_empty() {
            hidden.to_owned()
        } else {
            format!("{dir}/{hidden}")
        };
        if reaches_wanted(&reached) {
            self.note(|| Op::Whiteout(path.to_owned()));
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let before = self.files.len();
        if hidden == ".wh..opq" {
            // Opaque: lower layers' contents of `dir` vanish; this layer's stay.
            self.files
                .retain(|p, t| !(p.starts_with(&prefix) && t.layer < layer));
        } else {
            let target = format!("{prefix}{hidden}");
            let under = format!("{target}/");
            self.files
                .retain(|p, _| *p != target && !p.starts_with(&under));
        }
        self.changed |= self.files.len() != before;
        true
    }

    /// A regular file of `layer` at `path` (wanted), read from `reader`.
    pub fn add_file(
        &mut self,
        layer: usize,
        path: &str,
        size: u64,
        reader: impl Read,
    ) -> std::io::Result<()> {
        if size > MAX_FILE {
            return Err(std::io::Error::other(format!(
                "{path} is {size} bytes, more than a package database can be ({MAX_FILE} bytes)"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        reader.take(MAX_FILE).read_to_end(&mut data)?;
        self.note(|| Op::File(path.to_owned(), data.clone()));
        self.insert(layer, path, Content::Data(data));
        Ok(())
    }

    /// A symbolic link of `layer` at `path` (wanted) pointing at `target`.
    pub fn add_link(&mut self, layer: usize, path: &str, target: &str) {
        self.note(|| Op::Link(path.to_owned(), target.to_owned()));
        let resolved = if target.starts_with('/') {
            normalise(target)
        } else {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            resolve_relative(dir, target)
        };
        self.insert(layer, path, Content::Link(resolved));
    }

    /// A hard link of `layer` at `path` to an earlier entry `target`.
    pub fn add_hard_link(&mut self, layer: usize, path: &str, target: &str) {
        self.note(|| Op::HardLink(path.to_owned(), target.to_owned()));
        if let Some(Tracked { content, .. }) = self.files.get(&normalise(target)).cloned() {
            self.insert(layer, path, content);
        }
    }

    /// Any other entry (a directory, a device) at a wanted path replaces a file there.
    pub fn remove(&mut self, path: &str) {
        self.note(|| Op::Remove(path.to_owned()));
        self.changed |= self.files.remove(path).is_some();
    }

    fn insert(&mut self, layer: usize, path: &str, content: Content) {
        self.files
            .insert(path.to_owned(), Tracked { layer, content });
        self.changed = true;
    }

    /// Called after each layer: the packages the layer changed get it as
    /// their layer.
    pub fn end_layer(&mut self, layer: usize) {
        if !std::mem::take(&mut self.changed) {
            return;
        }
        let mut introduced = BTreeMap::new();
        for p in self.packages() {
            let key = (p.name.clone(), p.arch.clone(), p.version.clone());
            let first = self.introduced.get(&key).copied().unwrap_or(layer);
            introduced.insert(key, first);
        }
        self.introduced = introduced;
    }

    fn data(&self, path: &str) -> Option<&[u8]> {
        let mut path = path.to_owned();
        // Follow links among tracked files (os-release is usually one).
        for _ in 0..8 {
            match &self.files.get(&path)?.content {
                Content::Data(d) => return Some(d),
                Content::Link(target) => path = target.clone(),
            }
        }
        None
    }

    fn text(&self, path: &str) -> Option<String> {
        self.data(path)
            .map(|d| String::from_utf8_lossy(d).into_owned())
    }

    pub fn os(&self) -> Option<Os> {
        OS_RELEASE
            .iter()
            .find_map(|p| self.text(p))
            .and_then(|t| os_release::parse(&t))
    }

    /// Every installed package the databases list, without layers.
    fn packages(&self) -> Vec<Package> {
        let mut packages = Vec::new();
        if let Some(text) = self.text(DPKG_STATUS) {
            packages.extend(dpkg::parse(&text));
        }
        let status_d: Vec<String> = self
            .files
            .keys()
            .filter(|p| p.starts_with(DPKG_STATUS_D))
            .cloned()
            .collect();
        for path in status_d {
            if let Some(text) = self.text(&path) {
                packages.extend(dpkg::parse(&text));
            }
        }
        if let Some(text) = self.text(APK_INSTALLED) {
            packages.extend(apk::parse(&text));
        }
        // One package per architecture: `libc6:amd64` and `libc6:i386` are
        // two installations (dpkg's multiarch), each scanned and reported.
        packages
            .sort_by(|a, b| (&a.name, &a.arch, &a.version).cmp(&(&b.name, &b.arch, &b.version)));
        packages.dedup_by(|a, b| a.name == b.name && a.arch == b.arch && a.version == b.version);
        packages
    }

    /// The final inventory; `layered` says whether layer numbers mean anything.
    pub fn inventory(&self, target: String, layered: bool) -> Inventory {
        let packages = self
            .packages()
            .into_iter()
            .map(|mut p| {
                if layered {
                    p.layer = self
                        .introduced
                        .get(&(p.name.clone(), p.arch.clone(), p.version.clone()))
                        .copied();
                }
                p
            })
            .collect();
        Inventory {
            target,
            os: self.os(),
            packages,
            layers: Vec::new(),
        }
    }
}

fn resolve_relative(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::{Files, normalise, wanted};

    const STATUS_1: &str = "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 1\n";
    const STATUS_2: &str = "Package: a\nStatus: install ok installed\nVersion: 2\n\nPackage: b\nStatus: install ok installed\nVersion: 1\n\nPackage: c\nStatus: install ok installed\nVersion: 1\n";

    fn add(files: &mut Files, layer: usize, path: &str, text: &str) {
        files
            .add_file(layer, path, text.len() as u64, text.as_bytes())
            .unwrap();
    }

    #[test]
    fn wanted_paths() {
        assert!(wanted("var/lib/dpkg/status"));
        assert!(wanted("var/lib/dpkg/status.d/tzdata"));
        assert!(!wanted("var/lib/dpkg/status.d/tzdata.md5sums"));
        assert!(!wanted("var/lib/dpkg/status-old"));
        assert!(wanted("lib/apk/db/installed"));
        assert!(wanted("usr/lib/os-release"));
        assert_eq!(normalise("./etc//os-release"), "etc/os-release");
    }

    #[test]
    fn packages_keep_the_layer_that_installed_their_version() {
        let mut f = Files::default();
        add(&mut f, 0, "var/lib/dpkg/status", STATUS_1);
        f.end_layer(0);
        f.end_layer(1);
        add(&mut f, 2, "var/lib/dpkg/status", STATUS_2);
        f.end_layer(2);
        let inv = f.inventory("x".into(), true);
        let layers: Vec<_> = inv
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.layer))
            .collect();
        assert_eq!(
            layers,
            [
                ("a", "2", Some(2)),
                ("b", "1", Some(0)),
                ("c", "1", Some(2))
            ]
        );
    }

    #[test]
    fn whiteouts_and_opaque_directories_remove_lower_files() {
        let mut f = Files::default();
        add(
            &mut f,
            0,
            "var/lib/dpkg/status.d/a",
            "Package: a\nVersion: 1\n",
        );
        add(
            &mut f,
            0,
            "var/lib/dpkg/status.d/b",
            "Package: b\nVersion: 1\n",
        );
        f.end_layer(0);
        assert!(f.whiteout(1, "var/lib/dpkg/status.d/.wh.a"));
        f.end_layer(1);
        let names: Vec<_> = f
            .inventory("x".into(), true)
            .packages
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["b"]);
        add(
            &mut f,
            2,
            "var/lib/dpkg/status.d/c",
            "Package: c\nVersion: 1\n",
        );
        assert!(f.whiteout(2, "var/lib/dpkg/status.d/.wh..wh..opq"));
        f.end_layer(2);
        let names: Vec<_> = f
            .inventory("x".into(), true)
            .packages
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["c"]);
        // A whiteout of a whole directory removes what is under it.
        assert!(f.whiteout(3, "var/lib/dpkg/.wh.status.d"));
        assert!(f.inventory("x".into(), true).packages.is_empty());
        assert!(!f.whiteout(3, "etc/os-release"));
    }

    #[test]
    fn os_release_through_a_relative_link() {
        let mut f = Files::default();
        add(
            &mut f,
            0,
            "usr/lib/os-release",
            "ID=debian\nVERSION_ID=\"12\"\n",
        );
        f.add_link(0, "etc/os-release", "../usr/lib/os-release");
        assert_eq!(f.os().unwrap().version_id, "12");
    }
}
