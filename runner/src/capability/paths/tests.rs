use std::os::unix::fs::symlink;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A project with a read grant `data` and a write grant `out`, and a
/// secret beside the project.
struct Project {
    tmp: tempfile::TempDir,
    preopens: Vec<Preopen>,
}

impl Project {
    fn new() -> Project {
        let tmp = tempfile::tempdir().unwrap();
        for dir in ["project/data/sub", "project/out/sub", "outside"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        std::fs::write(tmp.path().join("project/data/in.txt"), "inside").unwrap();
        std::fs::write(tmp.path().join("outside/secret"), "SECRET").unwrap();
        let preopens = vec![
            Preopen::trusted(&tmp.path().join("project/data"), "data", false).unwrap(),
            Preopen::trusted(&tmp.path().join("project/out"), "./out/", true).unwrap(),
        ];
        Project { tmp, preopens }
    }

    fn path(&self, path: &str) -> PathBuf {
        self.tmp.path().join(path)
    }

    fn link(&self, target: &str, link: &str) {
        symlink(target, self.path(link)).unwrap();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

async fn read(project: &Project, guest: &str) -> Result<String, PathError> {
    let mut file = open_read(&project.preopens, guest).await?;
    let mut text = String::new();
    file.read_to_string(&mut text).await.unwrap();
    Ok(text)
}

fn symlink_error(path: &str, link: &str, target: &str) -> PathError {
    PathError::Symlink {
        path: path.to_owned(),
        link: link.to_owned(),
        target: target.to_owned(),
    }
}

#[test]
fn reads_only_regular_files_inside_a_grant() {
    let p = Project::new();
    block_on(async {
        assert_eq!(read(&p, "data/in.txt").await.unwrap(), "inside");
        assert_eq!(read(&p, "./data//in.txt").await.unwrap(), "inside");
        // A write grant can be read.
        std::fs::write(p.path("project/out/o.txt"), "o").unwrap();
        assert_eq!(read(&p, "out/o.txt").await.unwrap(), "o");
        for (guest, error) in [
            (
                "data/../../outside/secret",
                PathError::Escapes("data/../../outside/secret".into()),
            ),
            (
                "/etc/passwd",
                PathError::NotGranted("/etc/passwd".into(), "reading"),
            ),
            (
                "database/x",
                PathError::NotGranted("database/x".into(), "reading"),
            ),
            ("data/sub", PathError::NotAFile("data/sub".into())),
            ("data", PathError::NotAFile("data".into())),
        ] {
            assert_eq!(read(&p, guest).await.unwrap_err(), error, "{guest}");
        }
    });
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let p = Project::new();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        p.path("project/data/fifo"),
        Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    block_on(async {
        assert_eq!(
            read(&p, "data/fifo").await.unwrap_err(),
            PathError::NotAFile("data/fifo".into())
        );
    });
}

#[test]
fn a_symlink_anywhere_is_refused_naming_it() {
    let p = Project::new();
    p.link("../../outside/secret", "project/data/file-link");
    p.link("../../outside", "project/data/dir-link");
    p.link("in.txt", "project/data/inner-link");
    p.link(p.path("outside").to_str().unwrap(), "project/out/abs");
    block_on(async {
        for (guest, link, target) in [
            ("data/file-link", "data/file-link", "../../outside/secret"),
            ("data/dir-link/secret", "data/dir-link", "../../outside"),
            // Even one pointing back inside: the runner follows none.
            ("data/inner-link", "data/inner-link", "in.txt"),
            (
                "out/abs/secret",
                "out/abs",
                p.path("outside").to_str().unwrap(),
            ),
        ] {
            let error = read(&p, guest).await.unwrap_err();
            assert_eq!(error, symlink_error(guest, link, target));
            let message = error.to_string();
            assert!(message.contains(&format!("`{link}`")), "{message}");
            assert!(message.ends_with("the runner never follows a symlink in a plugin's files"));
        }
    });
}

#[test]
fn a_new_file_appears_only_when_committed() {
    let p = Project::new();
    std::fs::write(p.path("project/out/report.txt"), "previous").unwrap();
    block_on(async {
        let (mut file, new) = create_write(&p.preopens, "out/report.txt").await.unwrap();
        file.write_all(b"new report").await.unwrap();
        file.flush().await.unwrap();
        // Until committed, the old file is whole, and the new one hidden beside it.
        assert_eq!(
            std::fs::read_to_string(p.path("project/out/report.txt")).unwrap(),
            "previous"
        );
        let names: Vec<String> = std::fs::read_dir(p.path("project/out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".report.txt.") && n.ends_with(".part"))
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(new.guest(), "out/report.txt");
        new.commit(file).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(p.path("project/out/report.txt")).unwrap(),
            "new report"
        );

        // Discarded or dropped, nothing is left, and the old file is untouched.
        let (mut file, new) = create_write(&p.preopens, "out/report.txt").await.unwrap();
        file.write_all(b"partial").await.unwrap();
        new.discard().await;
        let (_file, new) = create_write(&p.preopens, "out/sub/other.txt")
            .await
            .unwrap();
        drop(new);
    });
    assert_eq!(
        std::fs::read_to_string(p.path("project/out/report.txt")).unwrap(),
        "new report"
    );
    let mut left: Vec<String> = std::fs::read_dir(p.path("project/out"))
        .unwrap()
        .chain(std::fs::read_dir(p.path("project/out/sub")).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["report.txt", "sub"]);
}

#[test]
fn writes_need_a_write_grant_and_no_symlink() {
    let p = Project::new();
    p.link("../../outside/secret", "project/out/target-link");
    p.link("../../outside", "project/out/dir-link");
    block_on(async {
        for (guest, error) in [
            ("data/x", PathError::NotGranted("data/x".into(), "writing")),
            ("out/../data/x", PathError::Escapes("out/../data/x".into())),
            ("out", PathError::NotAFile("out".into())),
            ("out/sub", PathError::NotAFile("out/sub".into())),
            (
                "out/target-link",
                symlink_error("out/target-link", "out/target-link", "../../outside/secret"),
            ),
            (
                "out/dir-link/new",
                symlink_error("out/dir-link/new", "out/dir-link", "../../outside"),
            ),
            (
                "out/missing/new",
                PathError::Io(
                    "out/missing/new".into(),
                    "`out/missing` does not exist".into(),
                ),
            ),
        ] {
            assert_eq!(
                create_write(&p.preopens, guest).await.unwrap_err(),
                error,
                "{guest}"
            );
        }
    });
    assert_eq!(
        std::fs::read_to_string(p.path("outside/secret")).unwrap(),
        "SECRET"
    );
    assert_eq!(std::fs::read_dir(p.path("outside")).unwrap().count(), 1);
}

#[test]
fn a_symlink_planted_before_the_rename_is_replaced_not_followed() {
    let p = Project::new();
    block_on(async {
        let (mut file, new) = create_write(&p.preopens, "out/dump").await.unwrap();
        file.write_all(b"dump").await.unwrap();
        p.link("../../outside/secret", "project/out/dump");
        new.commit(file).await.unwrap();
    });
    assert_eq!(
        std::fs::read_to_string(p.path("outside/secret")).unwrap(),
        "SECRET"
    );
    assert!(!p.path("project/out/dump").is_symlink());
    assert_eq!(
        std::fs::read_to_string(p.path("project/out/dump")).unwrap(),
        "dump"
    );
}

#[test]
fn bind_sources_are_canonical_and_refuse_symlinks() {
    let p = Project::new();
    let real = p.path("project").canonicalize().unwrap();
    // A project reached through a symlink (the user's, trusted) still
    // gives paths without one.
    symlink(&real, p.path("alias")).unwrap();
    let preopens = vec![
        Preopen::trusted(&p.path("alias/data"), "data", false).unwrap(),
        Preopen::trusted(&p.path("alias/out"), "out", true).unwrap(),
    ];
    assert_eq!(
        bind_source(&preopens, "data", false).unwrap(),
        real.join("data")
    );
    assert_eq!(
        bind_source(&preopens, "data/in.txt", false).unwrap(),
        real.join("data/in.txt")
    );
    assert_eq!(
        bind_source(&preopens, "out/sub", true).unwrap(),
        real.join("out/sub")
    );
    assert_eq!(
        bind_source(&preopens, "data/sub", true).unwrap_err(),
        PathError::NotGranted("data/sub".into(), "writing")
    );
    p.link("../../outside", "project/data/link");
    assert_eq!(
        bind_source(&preopens, "data/link", false).unwrap_err(),
        symlink_error("data/link", "data/link", "../../outside")
    );
    assert_eq!(
        bind_source(&preopens, "data/link/secret", false).unwrap_err(),
        symlink_error("data/link/secret", "data/link", "../../outside")
    );
}

#[test]
fn a_lock_file_that_is_a_symlink_is_refused_and_not_created_through() {
    let p = Project::new();
    p.link("../../outside/new.lock", "project/out/x.lock");
    assert_eq!(
        open_lock(&p.preopens, "out/x.lock").unwrap_err(),
        symlink_error("out/x.lock", "out/x.lock", "../../outside/new.lock")
    );
    assert_eq!(
        check(&p.preopens, "out/x.lock", true).unwrap_err(),
        symlink_error("out/x.lock", "out/x.lock", "../../outside/new.lock")
    );
    assert!(!p.path("outside/new.lock").exists());
    let (_, first) = open_lock(&p.preopens, "out/y.lock").unwrap();
    let (_, second) = open_lock(&p.preopens, "./out/./y.lock").unwrap();
    assert_eq!(first, second);
}
