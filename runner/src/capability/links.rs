//! A plugin cannot make a link that leads out of its preopen.
//!
//! wasmtime-wasi (cap-std) never *follows* a symlink out of a preopen, but it
//! lets a plugin with a write grant *create* one pointing anywhere:
//! `symlink("/etc", "out/etc")`, `symlink("../../..", "out/up")`. The link
//! harms nobody inside the sandbox, and everybody outside it who walks the
//! directory later: a command task, the user's shell or editor, a tool the
//! build runs. So WASI's `symlink-at`, `rename-at` and `link-at` are shadowed
//! in the linker by checks that call wasmtime-wasi's own implementation when
//! they pass:
//!
//! - `symlink-at` refuses a target that is absolute or has a `..` component.
//!   Only such a target can lead out; one made of plain names leads downward
//!   from wherever the link sits, so no later rename of the link, or of a
//!   directory above it, can make it lead out either. (Allowing `..` as long
//!   as it stays inside from the link's directory would be checked once, at
//!   creation, and undone by the first rename.)
//! - `rename-at` and `link-at` refuse to move or hard-link a symlink whose
//!   target is absolute or has `..` (one the plugin found in its grant, made
//!   by the user or a command task): moved to a shallower directory, such a
//!   link could lead elsewhere than its author meant.
//!
//! A refusal answers the plugin `not-permitted` and logs a warning naming the
//! task, the link and its target. What stays possible is documented in
//! docs/sandbox.md: renaming a whole directory that holds such a user-made
//! link, and hard links, which name only files the task can already write.

use std::path::{Component, Path};

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtxView};
use wasmtime_wasi::p2::FsError;
use wasmtime_wasi::p2::bindings::filesystem::types::{self, ErrorCode, HostDescriptor, PathFlags};

use crate::capability::beneath;
use crate::plugin::state::HostState;

/// The instance wasmtime-wasi 48.0.8 (pinned) registers its filesystem types
/// under (its WIT's `package wasi:filesystem@0.2.12`). Plugins importing any
/// 0.2.x reach it by semver; the integration tests fail if a wasmtime
/// upgrade renames it and these definitions stop shadowing its own.
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Shadows `symlink-at`, `rename-at` and `link-at`; call after
/// `wasmtime_wasi::p2::add_to_linker_async`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = shadow(linker);
    linker.allow_shadowing(false);
    result
}

type Outcome = wasmtime::Result<(Result<(), ErrorCode>,)>;

fn shadow(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut instance = linker.instance(FILESYSTEM_TYPES)?;
    instance.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store: StoreContextMut<'_, HostState>,
         (fd, target, link): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                let state = store.data_mut();
                if let Some(why) = leads_out(&target) {
                    let link = place(state, &fd, &link);
                    tracing::warn!(
                        task = %state.lock.task(),
                        "refused to create symlink `{link}` -> `{target}`: {why}"
                    );
                    return Ok((Err(ErrorCode::NotPermitted),));
                }
                let mut view = filesystem(state);
                let result = HostDescriptor::symlink_at(&mut view, fd, target, link).await;
                answer(&mut view, result)
            }) as Box<dyn Future<Output = Outcome> + Send + '_>
        },
    )?;
    instance.func_wrap_async(
        "[method]descriptor.rename-at",
        |mut store: StoreContextMut<'_, HostState>,
         (fd, old, new_fd, new): (Resource<Descriptor>, String, Resource<Descriptor>, String)| {
            Box::new(async move {
                let state = store.data_mut();
                if let Some((target, why)) = moved_link_leads_out(state, &fd, &old).await {
                    let (old, new) = (place(state, &fd, &old), place(state, &new_fd, &new));
                    tracing::warn!(
                        task = %state.lock.task(),
                        "refused to move symlink `{old}` (-> `{target}`) to `{new}`: {why}"
                    );
                    return Ok((Err(ErrorCode::NotPermitted),));
                }
                let mut view = filesystem(state);
                let result = HostDescriptor::rename_at(&mut view, fd, old, new_fd, new).await;
                answer(&mut view, result)
            }) as Box<dyn Future<Output = Outcome> + Send + '_>
        },
    )?;
    instance.func_wrap_async(
        "[method]descriptor.link-at",
        |mut store: StoreContextMut<'_, HostState>,
         (fd, flags, old, new_fd, new): (
            Resource<Descriptor>,
            PathFlags,
            String,
            Resource<Descriptor>,
            String,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                if let Some((target, why)) = moved_link_leads_out(state, &fd, &old).await {
                    let (old, new) = (place(state, &fd, &old), place(state, &new_fd, &new));
                    tracing::warn!(
                        task = %state.lock.task(),
                        "refused to hard-link symlink `{old}` (-> `{target}`) as `{new}`: {why}"
                    );
                    return Ok((Err(ErrorCode::NotPermitted),));
                }
                let mut view = filesystem(state);
                let result = HostDescriptor::link_at(&mut view, fd, flags, old, new_fd, new).await;
                answer(&mut view, result)
            }) as Box<dyn Future<Output = Outcome> + Send + '_>
        },
    )?;
    Ok(())
}

/// Why a symlink with this target could lead out of the directory it is
/// made in, or `None` if it cannot.
pub fn leads_out(target: &str) -> Option<&'static str> {
    let path = Path::new(target);
    if path.has_root() {
        return Some("a plugin's symlink may not point to an absolute path");
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Some("a plugin's symlink may not point up with `..`");
    }
    None
}

/// If `path` (beneath `fd`) is a symlink that could lead out, its target and why.
async fn moved_link_leads_out(
    state: &mut HostState,
    fd: &Resource<Descriptor>,
    path: &str,
) -> Option<(String, &'static str)> {
    let mut view = filesystem(state);
    // wasmtime-wasi's own `readlink-at`: resolved inside the preopen, and an
    // error when `path` is not a symlink (then there is nothing to check).
    let target =
        HostDescriptor::readlink_at(&mut view, Resource::new_borrow(fd.rep()), path.to_owned())
            .await
            .ok()?;
    leads_out(&target).map(|why| (target, why))
}

fn filesystem(state: &mut HostState) -> WasiFilesystemCtxView<'_> {
    WasiFilesystemCtxView {
        ctx: state.wasi.filesystem(),
        table: &mut state.table,
    }
}

/// Lowers wasmtime-wasi's result the way its generated bindings do.
fn answer(view: &mut WasiFilesystemCtxView<'_>, result: Result<(), FsError>) -> Outcome {
    Ok((match result {
        Ok(()) => Ok(()),
        Err(e) => Err(types::Host::convert_error_code(view, e)?),
    },))
}

/// `path` as the plugin would name it: prefixed with its preopen's name when
/// `fd` is a preopen (as wasi-libc passes for every path-based call).
fn place(state: &mut HostState, fd: &Resource<Descriptor>, path: &str) -> String {
    use std::os::fd::AsFd;
    let Ok(Descriptor::Dir(dir)) = state.table.get(fd) else {
        return path.to_owned();
    };
    let Ok(identity) = beneath::identity(dir.dir.as_fd()) else {
        return path.to_owned();
    };
    state
        .lock
        .preopens()
        .iter()
        .find(|p| beneath::identity(p.dir()).ok() == Some(identity))
        .map_or_else(
            || path.to_owned(),
            |p| {
                if p.guest == "." {
                    path.to_owned()
                } else {
                    format!("{}/{path}", p.guest.trim_end_matches('/'))
                }
            },
        )
}

#[cfg(test)]
mod tests {
    use super::leads_out;

    #[test]
    fn only_plain_relative_targets_are_allowed() {
        for target in ["x", "a/b", "./a", "a/./b", "a..b", "..a/b", "a/b/"] {
            assert_eq!(leads_out(target), None, "{target}");
        }
        for target in [
            "/etc",
            "/",
            "..",
            "../x",
            "a/../b",
            "a/..",
            "a/b/../../..",
            "//x",
        ] {
            assert!(leads_out(target).is_some(), "{target}");
        }
    }
}
