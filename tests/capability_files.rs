//! File grants, host side: grants become preopens; read grants must exist,
//! write grants are created; duplicates collapse to the writable one.

use runner::capability::files::{FileGrantError, Preopen, preopens};
use runner::config::model::Grants;

#[test]
fn write_grants_are_created_and_read_grants_must_exist() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("data")).unwrap();
    let grants = Grants {
        read: vec!["data".into()],
        write: vec!["./out/".into()],
        ..Grants::default()
    };
    let opened = preopens(root.path(), &grants).unwrap();
    assert_eq!(
        opened,
        [
            Preopen {
                host: root.path().join("out"),
                guest: "out".into(),
                writable: true
            },
            Preopen {
                host: root.path().join("data"),
                guest: "data".into(),
                writable: false
            },
        ]
    );
    assert!(root.path().join("out").is_dir());
}

#[test]
fn a_missing_read_grant_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let grants = Grants {
        read: vec!["nope".into()],
        ..Grants::default()
    };
    let error = preopens(root.path(), &grants).unwrap_err();
    assert!(matches!(error, FileGrantError::Missing { .. }));
    assert!(
        error
            .to_string()
            .starts_with("granted directory `nope` does not exist"),
        "{error}"
    );
}

#[test]
fn a_file_is_not_a_directory_grant() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("file"), "").unwrap();
    let grants = Grants {
        read: vec!["file".into()],
        ..Grants::default()
    };
    assert!(matches!(
        preopens(root.path(), &grants),
        Err(FileGrantError::NotADirectory { .. })
    ));
}

#[test]
fn read_and_write_of_one_directory_is_one_writable_preopen() {
    let root = tempfile::tempdir().unwrap();
    let grants = Grants {
        read: vec!["out".into()],
        write: vec!["out".into()],
        ..Grants::default()
    };
    let opened = preopens(root.path(), &grants).unwrap();
    assert_eq!(opened.len(), 1);
    assert!(opened[0].writable);
}
