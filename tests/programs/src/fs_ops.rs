//! The `fs` mode: a sequence of filesystem operations through WASI, each
//! printing `ok OP ...` when it succeeds; the first that fails ends the run
//! with an error naming the operation, its paths and the system's answer
//! (`denied` when the sandbox refused it). Tests of links a plugin makes
//! (symlinks, hard links, renames) and of grants it tampers with use it.

use run_plugin_sdk::Error;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Symlink { target: String, link: String },
    HardLink { from: String, to: String },
    Rename { from: String, to: String },
    Mkdir { path: String },
    RemoveDir { path: String },
    Write { path: String, content: String },
    Read { path: String },
}

pub fn run(ops: Vec<Op>) -> Result<(), Error> {
    for op in ops {
        let (what, result) = match &op {
            Op::Symlink { target, link } => (
                format!("symlink `{link}` -> `{target}`"),
                // `std::os::wasi::fs::symlink_path` is unstable; this is the
                // same call (wasi-libc's symlink).
                #[allow(deprecated)]
                std::fs::soft_link(target, link),
            ),
            Op::HardLink { from, to } => (
                format!("hard-link `{from}` as `{to}`"),
                std::fs::hard_link(from, to),
            ),
            Op::Rename { from, to } => (
                format!("rename `{from}` to `{to}`"),
                std::fs::rename(from, to),
            ),
            Op::Mkdir { path } => (format!("mkdir `{path}`"), std::fs::create_dir_all(path)),
            Op::RemoveDir { path } => (
                format!("remove-dir `{path}`"),
                std::fs::remove_dir_all(path),
            ),
            Op::Write { path, content } => {
                (format!("write `{path}`"), std::fs::write(path, content))
            }
            Op::Read { path } => (
                format!("read `{path}`"),
                std::fs::read_to_string(path).map(|text| print!("{text}")),
            ),
        };
        match result {
            Ok(()) => println!("ok {what}"),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(Error::denied(format!("{what} refused: {e}")));
            }
            Err(e) => return Err(Error::failed(format!("{what} failed: {e}"))),
        }
    }
    Ok(())
}
