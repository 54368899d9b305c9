//! The `files` host without wasm: what is written is what is hashed, a file
//! appears under its name only when committed, and every path outside a
//! write grant, through `..` or a symlink, or under `--plan`, is denied.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::*;

fn host(dir: &Path, plan: bool) -> FilesHost {
    FilesHost::new(
        "t",
        vec![
            Preopen::trusted(dir, "out", true).unwrap(),
            Preopen::trusted(dir, "docs", false).unwrap(),
        ],
        plan,
    )
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_digest_is_of_the_bytes_written_and_the_file_appears_only_when_committed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.sql"), "the old one").unwrap();
    let mut host = host(dir.path(), false);
    let expected: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    block_on(async {
        let mut file = host.create("out/x.sql").await.unwrap();
        for piece in expected.chunks(777_777) {
            file.write(piece.to_vec()).await.unwrap();
        }
        // Written, not finished: only the temporary file is there, and the
        // old file is untouched.
        let during = names(dir.path());
        assert_eq!(during.len(), 2, "{during:?}");
        assert!(during[0].starts_with(".x.sql.") && during[0].ends_with(".part"));
        assert_eq!(
            std::fs::read(dir.path().join("x.sql")).unwrap(),
            b"the old one"
        );
        let written = file.finish().await.unwrap();
        assert_eq!(written.bytes, expected.len() as u64);
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&expected)));
        // Finished is not committed; finishing again answers the same.
        assert_eq!(file.finish().await.unwrap().sha256, written.sha256);
        assert!(matches!(
            file.write(b"late".to_vec()).await,
            Err(FileError::Io(_))
        ));
        file.commit().await.unwrap();
    });
    assert_eq!(names(dir.path()), ["x.sql"]);
    assert_eq!(std::fs::read(dir.path().join("x.sql")).unwrap(), expected);
}

#[test]
fn a_file_dropped_before_it_is_committed_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = host(dir.path(), false);
    block_on(async {
        let mut file = host.create("out/x.sql").await.unwrap();
        file.write(vec![b'a'; 1 << 20]).await.unwrap();
        drop(file);
        let mut finished = host.create("out/y.sql").await.unwrap();
        finished.write(b"y".to_vec()).await.unwrap();
        finished.finish().await.unwrap();
        drop(finished);
    });
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[test]
fn paths_outside_a_write_grant_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("f.sql")).unwrap();
    let mut host = host(dir.path(), false);
    block_on(async {
        for path in [
            "docs/x.sql",
            "elsewhere/x.sql",
            "out/../x.sql",
            "/etc/x.sql",
            "out/link/x.sql",
            "out/f.sql",
        ] {
            match host.create(path).await {
                Err(FileError::Denied(denial)) => {
                    assert_eq!(denial.name, path);
                    assert_eq!(denial.task, "t");
                    assert_eq!(denial.granted, ["out"], "{path}");
                }
                Err(other) => panic!("{path}: {other:?}"),
                Ok(_) => panic!("{path}: created"),
            }
        }
    });
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}

#[test]
fn nothing_is_written_under_plan() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = host(dir.path(), true);
    block_on(async {
        match host.create("out/x.sql").await {
            Err(FileError::Denied(denial)) => {
                assert_eq!(
                    denial.reason.as_deref(),
                    Some("nothing is written under `run --plan`")
                );
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("created under --plan"),
        }
    });
    assert!(names(dir.path()).is_empty());
}

#[test]
fn writes_and_open_files_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = host(dir.path(), false);
    block_on(async {
        let mut file = host.create("out/big").await.unwrap();
        assert!(matches!(
            file.write(vec![0; MAX_WRITE + 1]).await,
            Err(FileError::Io(_))
        ));
        let mut open = vec![file];
        for i in 1..MAX_OPEN {
            open.push(host.create(&format!("out/{i}")).await.unwrap());
        }
        match host.create("out/one-too-many").await {
            Err(FileError::Io((path, why))) => {
                assert_eq!(path, "out/one-too-many");
                assert!(why.contains("already writing 16 files"), "{why}");
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("more than {MAX_OPEN} files open"),
        }
        // A finished file gives its place back.
        open[0].finish().await.unwrap();
        host.create("out/next").await.unwrap();
    });
}

#[test]
fn a_full_disk_is_named_as_such() {
    let error = io::Error::from(io::ErrorKind::StorageFull);
    assert!(matches!(io_error("out/x", &error), FileError::Full(p) if p == "out/x"));
    let error = io::Error::from(io::ErrorKind::PermissionDenied);
    assert!(matches!(io_error("out/x", &error), FileError::Io(_)));
}

#[test]
fn a_file_read_ahead_reads_whole_and_in_any_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Vec<u8> = (0..(READ_CHUNK * 3 + 12_345) as u32)
        .map(|i| (i % 253) as u8)
        .collect();
    std::fs::write(dir.path().join("in.sql"), &expected).unwrap();
    let mut host = host(dir.path(), false);
    block_on(async {
        for max in [1 << 20, 100_000, 7, 5 << 20] {
            // Through the read-only grant too.
            let mut file = host.open_read("docs/in.sql").await.unwrap();
            let mut got = Vec::new();
            loop {
                let piece = file.read(max).await.unwrap();
                if piece.is_empty() {
                    break;
                }
                assert!(piece.len() <= (max as usize).min(MAX_WRITE));
                got.extend_from_slice(&piece);
            }
            assert_eq!(got.len(), expected.len(), "{max}");
            assert!(got == expected, "{max}");
            assert!(file.read(max).await.unwrap().is_empty());
        }
    });
}

#[test]
fn reads_outside_the_grants_through_symlinks_or_of_fifos_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_bits_truncate(0o600),
        0,
    )
    .unwrap();
    let mut host = host(dir.path(), false);
    block_on(async {
        for path in ["elsewhere/x", "docs/../x", "/etc/passwd", "docs/link"] {
            match host.open_read(path).await {
                Err(FileError::Denied(denial)) => assert_eq!(denial.name, path),
                Err(other) => panic!("{path}: {other:?}"),
                Ok(_) => panic!("{path}: opened"),
            }
        }
        // A FIFO would block the reader: refused at once.
        assert!(matches!(
            host.open_read("docs/fifo").await,
            Err(FileError::Io((_, why))) if why.contains("not a regular file")
        ));
    });
}

/// A COPY block of `rows` rows (about 60 bytes each, one with an escaped
/// `\.` inside a value), its `\.` line, and what follows.
fn copy_block(rows: usize) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..rows {
        text.extend_from_slice(
            format!("{i}\tsomebody{i}@example.com\t+49 30 {i:08}\tnote\n").as_bytes(),
        );
        if i == 7 {
            text.extend_from_slice(b"8\t\\\\.\t\\.\tx\n");
        }
    }
    text.extend_from_slice(b"\\.\nafter the block\n\\.\n");
    text
}

#[test]
fn a_skip_passes_over_chunks_to_the_line_and_reads_go_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    // Over three of the host's chunks.
    let rows = READ_CHUNK * 3 / 50;
    let text = copy_block(rows);
    std::fs::write(dir.path().join("dump.sql"), &text).unwrap();
    let marker = text.len() - b"after the block\n\\.\n".len();
    let mut host = host(dir.path(), false);
    block_on(async {
        for (read_first, mid_line) in [(0, false), (3, true), (READ_CHUNK + 5, true)] {
            let mut file = host.open_read("docs/dump.sql").await.unwrap();
            let mut before = 0;
            while before < read_first {
                before += file.read((read_first - before) as u32).await.unwrap().len();
            }
            let skipped = file.skip_through_line(b"\\.", mid_line).await.unwrap();
            assert_eq!(skipped.bytes as usize, marker - before);
            let newlines_before = text[..marker - 3].iter().filter(|&&b| b == b'\n').count();
            let begun = text[..before].iter().filter(|&&b| b == b'\n').count();
            assert_eq!(skipped.lines as usize, newlines_before - begun);
            assert!(skipped.found);
            assert_eq!(file.read(100).await.unwrap(), b"after the block\n\\.\n");
            // Nothing more: at the end, the line is not found.
            let rest = file.skip_through_line(b"\\.", false).await.unwrap();
            assert_eq!((rest.bytes, rest.lines, rest.found), (0, 0, false));
        }
    });
}

#[test]
fn a_skip_to_the_end_says_not_found_and_bad_lines_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cut.sql"), b"1\ta\n2\tb\n3\tc").unwrap();
    let mut host = host(dir.path(), false);
    block_on(async {
        let mut file = host.open_read("docs/cut.sql").await.unwrap();
        let skipped = file.skip_through_line(b"\\.", false).await.unwrap();
        assert_eq!(
            (skipped.bytes, skipped.lines, skipped.found),
            (11, 2, false)
        );
        assert!(file.read(10).await.unwrap().is_empty());
        let mut file = host.open_read("docs/cut.sql").await.unwrap();
        for line in [&b""[..], b"a\nb", &[b'x'; 257]] {
            match file.skip_through_line(line, false).await {
                Err(FileError::Io((path, why))) => {
                    assert_eq!(path, "docs/cut.sql");
                    assert!(why.contains("line to skip through"), "{why}");
                }
                other => panic!("{other:?}"),
            }
        }
        // Refused before anything was passed over.
        assert_eq!(file.read(4).await.unwrap(), b"1\ta\n");
    });
}
