//! An unpacked root filesystem (`--rootfs DIR`): the same files read in place.

use std::fs::File;
use std::path::Path;

use super::Inventory;
use super::files::Files;

/// The inventory of the root filesystem at `dir`.
pub fn read(dir: &Path) -> std::io::Result<Inventory> {
    if !dir.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a directory", dir.display()),
        ));
    }
    let mut files = Files::default();
    let mut paths = vec![
        "etc/os-release".to_owned(),
        "usr/lib/os-release".to_owned(),
        "var/lib/dpkg/status".to_owned(),
        "lib/apk/db/installed".to_owned(),
    ];
    if let Ok(entries) = std::fs::read_dir(dir.join("var/lib/dpkg/status.d")) {
        for entry in entries.flatten() {
            paths.push(format!(
                "var/lib/dpkg/status.d/{}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    for path in paths.iter().filter(|p| super::files::wanted(p)) {
        let full = dir.join(path);
        let Ok(meta) = std::fs::symlink_metadata(&full) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            // Resolve inside the root, never on the host.
            if let Ok(target) = std::fs::read_link(&full) {
                files.add_link(0, path, &target.to_string_lossy());
            }
        } else if meta.is_file() {
            files.add_file(0, path, meta.len(), File::open(&full)?)?;
        }
    }
    files.end_layer(0);
    Ok(files.inventory(dir.display().to_string(), false))
}
