use std::os::unix::fs::symlink;

use super::*;

fn grants(read: &[&str], write: &[&str]) -> Grants {
    Grants {
        read: read.iter().map(|s| s.to_string()).collect(),
        write: write.iter().map(|s| s.to_string()).collect(),
        ..Grants::default()
    }
}

/// A project with `build/reports` and a secret beside the project.
fn project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    std::fs::create_dir_all(root.join("build/reports")).unwrap();
    std::fs::create_dir(tmp.path().join("outside")).unwrap();
    std::fs::write(tmp.path().join("outside/secret"), "SECRET").unwrap();
    (tmp, root)
}

fn refused_symlink(result: Result<Vec<Preopen>, FileGrantError>) -> (String, PathBuf, PathBuf) {
    match result {
        Err(FileGrantError::Symlink {
            grant,
            link,
            target,
        }) => (grant, link, target),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_grant_replaced_by_a_relative_symlink_out_of_the_project_is_refused_naming_it() {
    let (_tmp, root) = project();
    std::fs::remove_dir(root.join("build/reports")).unwrap();
    symlink("../../outside", root.join("build/reports")).unwrap();
    for g in [
        grants(&["build/reports"], &[]),
        grants(&[], &["build/reports"]),
    ] {
        let error = preopens(&root, &g).unwrap_err();
        let message = error.to_string();
        assert_eq!(
            refused_symlink(Err(error)),
            (
                "build/reports".to_owned(),
                root.join("build/reports"),
                PathBuf::from("../../outside")
            )
        );
        assert!(
            message.starts_with(&format!(
                "granted directory `build/reports` is refused: {} is a symlink (to ../../outside)",
                root.join("build/reports").display()
            )),
            "{message}"
        );
    }
    // The write grant created nothing through the link.
    assert_eq!(
        std::fs::read_dir(_tmp.path().join("outside"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn a_symlink_in_a_middle_component_is_refused_naming_it() {
    let (tmp, root) = project();
    std::fs::rename(root.join("build"), root.join("real-build")).unwrap();
    // Pointing back inside the project changes nothing: no symlink is followed.
    symlink("real-build", root.join("build")).unwrap();
    for g in [
        grants(&["build/reports"], &[]),
        grants(&[], &["build/reports/new"]),
    ] {
        let (grant, link, target) = refused_symlink(preopens(&root, &g));
        assert!(grant.starts_with("build/reports"));
        assert_eq!(
            (link, target),
            (root.join("build"), PathBuf::from("real-build"))
        );
    }
    assert!(!root.join("real-build/reports/new").exists());
    drop(tmp);
}

#[test]
fn an_absolute_symlink_is_refused() {
    let (tmp, root) = project();
    std::fs::remove_dir(root.join("build/reports")).unwrap();
    symlink(tmp.path().join("outside"), root.join("build/reports")).unwrap();
    let (_, link, target) = refused_symlink(preopens(&root, &grants(&[], &["build/reports/x"])));
    assert_eq!(
        (link, target),
        (root.join("build/reports"), tmp.path().join("outside"))
    );
    assert!(!tmp.path().join("outside/x").exists());
}

#[test]
fn a_symlink_swapped_in_between_two_runs_is_refused_at_the_second() {
    let (tmp, root) = project();
    let g = grants(&["build/reports"], &[]);
    assert_eq!(
        preopens(&root, &g).unwrap()[0].host,
        root.join("build/reports")
    );
    std::fs::rename(root.join("build/reports"), root.join("build/old")).unwrap();
    symlink("../../outside", root.join("build/reports")).unwrap();
    refused_symlink(preopens(&root, &g));
    // And back: a directory again is a grant again.
    std::fs::remove_file(root.join("build/reports")).unwrap();
    std::fs::rename(root.join("build/old"), root.join("build/reports")).unwrap();
    preopens(&root, &g).unwrap();
    drop(tmp);
}

#[test]
fn absolute_grants_are_opened_from_the_root_without_symlinks() {
    let (tmp, root) = project();
    // Canonical, in case the temporary directory is reached through a symlink.
    let outside = tmp.path().canonicalize().unwrap().join("outside");
    let absolute = outside.to_str().unwrap();
    let opened = preopens(&root, &grants(&[absolute], &[])).unwrap();
    assert_eq!(
        (opened[0].host.as_path(), opened[0].guest.as_str()),
        (outside.as_path(), absolute)
    );
    let alias = outside.with_file_name("alias");
    symlink(&outside, &alias).unwrap();
    let (grant, link, _) =
        refused_symlink(preopens(&root, &grants(&[alias.to_str().unwrap()], &[])));
    assert_eq!(
        (grant.as_str(), link),
        (alias.to_str().unwrap(), alias.clone())
    );
}

#[test]
fn write_grants_are_made_one_directory_at_a_time() {
    let (_tmp, root) = project();
    let opened = preopens(&root, &grants(&[], &["./out/a/b/"])).unwrap();
    assert_eq!(
        (opened[0].guest.as_str(), opened[0].writable),
        ("out/a/b", true)
    );
    assert!(root.join("out/a/b").is_dir());
    assert_eq!(
        beneath::identity(opened[0].dir()).unwrap(),
        beneath::identity(
            beneath::open_trusted_dir(&root.join("out/a/b"))
                .unwrap()
                .as_fd()
        )
        .unwrap()
    );
}

#[test]
fn wasi_gets_the_directory_that_was_opened() {
    let (_tmp, root) = project();
    let opened = preopens(&root, &grants(&["build/reports"], &["out"])).unwrap();
    let mut builder = WasiCtxBuilder::new();
    apply(&mut builder, &opened).unwrap();
}
