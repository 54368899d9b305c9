//! File grants: grants become preopens; read grants must exist, write
//! grants are created; duplicates collapse to the writable one. Against the
//! real binary: a grant that is or passes through a symlink is refused naming
//! it, whoever planted it and whenever; a plugin cannot make a symlink, hard
//! link or rename that leads out of its preopen.

use std::os::unix::fs::symlink;
use std::path::Path;

use runner::capability::files::{FileGrantError, preopens};
use runner::config::model::Grants;

use crate::test::Test;

#[test]
fn write_grants_are_created_and_read_grants_must_exist() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("data")).unwrap();
    let grants = Grants {
        read: vec!["data".into()],
        write: vec!["./out/".into()],
        ..Grants::default()
    };
    let opened: Vec<_> = preopens(root.path(), &grants)
        .unwrap()
        .into_iter()
        .map(|p| (p.host, p.guest, p.writable))
        .collect();
    assert_eq!(
        opened,
        [
            (root.path().join("out"), "out".to_owned(), true),
            (root.path().join("data"), "data".to_owned(), false),
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

/// A fixture task running filesystem operations (`{ op = "symlink", ... }`).
fn fs_task(name: &str, ops: &[&str], allow: &str) -> String {
    format!(
        "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"fs\", ops = [{}] }}\nallow = {{ {allow} }}\n\n",
        ops.join(", ")
    )
}

/// A fixture task reading one file.
fn read_task(name: &str, path: &str, allow: &str) -> String {
    format!(
        "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"read\", path = \"{path}\" }}\nallow = {{ {allow} }}\n\n"
    )
}

/// A fixture task writing one file.
fn write_task(name: &str, path: &str, allow: &str) -> String {
    format!(
        "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"write\", path = \"{path}\", content = \"pwned\" }}\nallow = {{ {allow} }}\n\n"
    )
}

/// A directory beside the project holding a secret, and the relative path
/// to it from the project's `build` directory (`../../NAME`).
struct Outside {
    dir: tempfile::TempDir,
    from_build: String,
}

fn outside(test: &Test) -> Outside {
    let dir = tempfile::tempdir_in(test.dir.path().parent().unwrap()).unwrap();
    std::fs::write(dir.path().join("secret"), "SECRET\n").unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
    Outside {
        dir,
        from_build: format!("../../{name}"),
    }
}

impl Outside {
    fn untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["secret"],
            "something was written outside the project"
        );
    }
}

fn refused_grant(grant: &str, link: &str, target: &str) -> String {
    format!("granted directory `{grant}` is refused: ")
        + &format!(
            "{link} is a symlink (to {target}), and a grant is never opened through a symlink"
        )
}

/// Issue 14, escape 3, exactly: a task with `write = ["build"]` replaces
/// `build/reports` with a relative symlink out of the project; the next task
/// with `read = ["build/reports"]` (or a write grant) must not be preopened
/// at the link's target. The plugin can no longer make that link; planted by
/// anything else, it is refused naming it.
#[test]
fn a_grant_replaced_by_a_symlink_out_of_the_project_is_refused_naming_it() {
    let test = Test::new().file("build/reports/index.html", "report\n");
    let out = outside(&test);
    let link_op = format!(
        "{{ op = \"symlink\", target = \"{}\", link = \"build/reports\" }}",
        out.from_build
    );
    let test = test.tasks(&format!(
        "{}{}{}",
        fs_task(
            "plant",
            &[r#"{ op = "remove-dir", path = "build/reports" }"#, &link_op],
            r#"write = ["build"]"#
        ),
        read_task(
            "read-reports",
            "build/reports/secret",
            r#"read = ["build/reports"]"#
        ),
        write_task(
            "write-reports",
            "build/reports/new",
            r#"write = ["build/reports"]"#
        ),
    ));
    test.invoke(&["plant"])
        .status(1)
        .stdout_contains("ok remove-dir `build/reports`")
        .stderr_contains(&format!(
            "refused to create symlink `build/reports` -> `{}`: a plugin's symlink may not point up with `..`",
            out.from_build
        ))
        .stderr_contains(&format!("symlink `build/reports` -> `{}` refused", out.from_build));
    assert!(!test.path("build/reports").exists());

    // Planted by something outside the sandbox (a command task, a tool).
    symlink(&out.from_build, test.path("build/reports")).unwrap();
    let link = test.path("build/reports");
    for task in ["read-reports", "write-reports"] {
        test.invoke(&[task])
            .status(1)
            .stderr_contains(&format!("error: task `{task}` (plugin `"))
            .stderr_contains(&refused_grant(
                "build/reports",
                &link.display().to_string(),
                &out.from_build,
            ))
            .stderr_lacks("SECRET");
    }
    out.untouched();
}

/// A link the plugin may make (plain names point down) still cannot stand
/// for a grant: the next task is refused, naming it.
#[test]
fn a_grant_a_plugin_replaced_with_an_inward_symlink_is_refused_at_the_next_run() {
    let test = Test::new()
        .file("build/reports/index.html", "report\n")
        .tasks(&format!(
            "{}{}",
            fs_task(
                "swap",
                &[
                    r#"{ op = "rename", from = "build/reports", to = "build/old" }"#,
                    r#"{ op = "symlink", target = "old", link = "build/reports" }"#,
                ],
                r#"write = ["build"]"#
            ),
            read_task(
                "read-reports",
                "build/reports/index.html",
                r#"read = ["build/reports"]"#
            ),
        ));
    test.invoke(&["read-reports"])
        .ok()
        .stdout_contains("report");
    test.invoke(&["swap"])
        .ok()
        .stdout_contains("ok symlink `build/reports` -> `old`");
    test.invoke(&["read-reports"])
        .status(1)
        .stderr_contains(&refused_grant(
            "build/reports",
            &test.path("build/reports").display().to_string(),
            "old",
        ));
}

/// Between two runs the grant is swapped for a symlink, then for a
/// directory again: the grant is opened afresh at every run.
#[test]
fn a_symlink_swapped_in_between_two_runs_is_refused_at_the_second() {
    let test = Test::new().file("build/reports/index.html", "report\n");
    let out = outside(&test);
    let test = test.tasks(&read_task(
        "read-reports",
        "build/reports/index.html",
        r#"read = ["build/reports"]"#,
    ));
    test.invoke(&["read-reports"])
        .ok()
        .stdout_contains("report");
    std::fs::rename(test.path("build/reports"), test.path("build/saved")).unwrap();
    symlink(&out.from_build, test.path("build/reports")).unwrap();
    test.invoke(&["read-reports"])
        .status(1)
        .stderr_contains("granted directory `build/reports` is refused");
    std::fs::remove_file(test.path("build/reports")).unwrap();
    std::fs::rename(test.path("build/saved"), test.path("build/reports")).unwrap();
    test.invoke(&["read-reports"])
        .ok()
        .stdout_contains("report");
}

/// A symlink in a middle component, relative or absolute: `build` itself.
#[test]
fn a_symlink_in_a_middle_component_or_an_absolute_one_is_refused() {
    let test = Test::new();
    let out = outside(&test);
    std::fs::create_dir(out.dir.path().join("reports")).unwrap();
    let test = test.tasks(&format!(
        "{}{}",
        read_task(
            "read-reports",
            "build/reports/x",
            r#"read = ["build/reports"]"#
        ),
        write_task("write-new", "build/new/x", r#"write = ["build/new"]"#),
    ));
    let absolute = out.dir.path().display().to_string();
    symlink(out.dir.path(), test.path("build")).unwrap();
    for task in ["read-reports", "write-new"] {
        test.invoke(&[task]).status(1).stderr_contains(&format!(
            "{} is a symlink (to {absolute})",
            test.path("build").display()
        ));
    }
    std::fs::remove_file(test.path("build")).unwrap();
    std::fs::create_dir(test.path("build")).unwrap();
    symlink(out.dir.path().join("reports"), test.path("build/reports")).unwrap();
    test.invoke(&["read-reports"])
        .status(1)
        .stderr_contains(&format!(
            "{} is a symlink (to {absolute}/reports)",
            test.path("build/reports").display()
        ));
    // The write grant was not created through the link.
    assert!(!out.dir.path().join("new").exists());
    assert_eq!(
        std::fs::read_dir(out.dir.path().join("reports"))
            .unwrap()
            .count(),
        0
    );
}

/// A plugin with a write grant cannot make a symlink that points out:
/// absolute, up with `..`, or up from a subdirectory; pointing down is fine.
#[test]
fn a_plugin_cannot_create_a_symlink_that_points_out() {
    let cases = [
        ("absolute", "/etc", "out/etc"),
        ("up", "../..", "out/up"),
        ("up-from-sub", "../../x", "out/sub/up"),
        ("up-and-back", "../out/sub", "out/back"),
    ];
    let mut tasks: String = cases
        .iter()
        .map(|(name, target, link)| {
            fs_task(
                name,
                &[
                    r#"{ op = "mkdir", path = "out/sub" }"#,
                    &format!("{{ op = \"symlink\", target = \"{target}\", link = \"{link}\" }}"),
                ],
                r#"write = ["out"]"#,
            )
        })
        .collect();
    tasks += &fs_task(
        "down",
        &[
            r#"{ op = "mkdir", path = "out/sub" }"#,
            r#"{ op = "write", path = "out/sub/f", content = "f" }"#,
            r#"{ op = "symlink", target = "sub/f", link = "out/down" }"#,
            r#"{ op = "read", path = "out/down" }"#,
        ],
        r#"write = ["out"]"#,
    );
    let test = Test::new().tasks(&tasks);
    for (name, target, link) in cases {
        test.invoke(&[name])
            .status(1)
            .stderr_contains(&format!("denied: symlink `{link}` -> `{target}` refused"))
            .stderr_contains(&format!("refused to create symlink `{link}` -> `{target}`"));
        assert!(
            std::fs::symlink_metadata(test.path(link)).is_err(),
            "{link} was created"
        );
    }
    test.invoke(&["down"])
        .ok()
        .stdout_contains("ok symlink `out/down` -> `sub/f`\nf");
}

/// Hard links and renames cannot lead out either: a symlink with `..`
/// found in the grant cannot be moved or linked to where it would lead
/// elsewhere, and nothing can be linked in from a read-only grant.
#[test]
fn hard_links_and_renames_cannot_lead_out() {
    let test = Test::new()
        .file("data/secret", "SECRET\n")
        .dir("out/a/b")
        .tasks(&format!(
            "{}{}{}{}{}",
            fs_task(
                "move-up-link",
                &[r#"{ op = "rename", from = "out/a/b/link", to = "out/link" }"#],
                r#"write = ["out"]"#
            ),
            fs_task(
                "hard-link-up-link",
                &[r#"{ op = "hard-link", from = "out/a/b/link", to = "out/link" }"#],
                r#"write = ["out"]"#
            ),
            fs_task(
                "hard-link-from-read-grant",
                &[r#"{ op = "hard-link", from = "data/secret", to = "out/secret" }"#],
                r#"read = ["data"], write = ["out"]"#
            ),
            fs_task(
                "rename-out-of-preopen",
                &[
                    r#"{ op = "write", path = "out/f", content = "f" }"#,
                    r#"{ op = "rename", from = "out/f", to = "out/../f" }"#
                ],
                r#"write = ["out"]"#
            ),
            fs_task(
                "move-a-plain-file",
                &[
                    r#"{ op = "write", path = "out/a/f", content = "f" }"#,
                    r#"{ op = "rename", from = "out/a/f", to = "out/f" }"#,
                    r#"{ op = "hard-link", from = "out/f", to = "out/a/b/f" }"#
                ],
                r#"write = ["out"]"#
            ),
        ));
    // A link the user made: from out/a/b, `../../x` is out/x.
    symlink("../../x", test.path("out/a/b/link")).unwrap();
    test.invoke(&["move-up-link"])
        .status(1)
        .stderr_contains("refused to move symlink `out/a/b/link` (-> `../../x`) to `out/link`");
    test.invoke(&["hard-link-up-link"])
        .status(1)
        .stderr_contains(
            "refused to hard-link symlink `out/a/b/link` (-> `../../x`) as `out/link`",
        );
    assert!(std::fs::symlink_metadata(test.path("out/link")).is_err());
    test.invoke(&["hard-link-from-read-grant"])
        .status(1)
        .stderr_contains("hard-link `data/secret` as `out/secret`");
    assert!(!test.path("out/secret").exists());
    test.invoke(&["rename-out-of-preopen"]).status(1);
    assert!(!test.path("f").exists());
    test.invoke(&["move-a-plain-file"])
        .ok()
        .stdout_contains("ok hard-link `out/f` as `out/a/b/f`");
    assert!(Path::new(&test.path("out/a/b/f")).is_file());
}

/// A fixture task writing `content` to `path` through the host's `files`
/// interface (`commit = false`: it fails after finishing, dropping it).
fn new_file_task(name: &str, path: &str, content: &str, extra: &str) -> String {
    format!(
        "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"new-file\", path = \"{path}\", content = \"{content}\"{extra} }}\nallow = {{ write = [\"out\"], read = [\"docs\"] }}\n\n"
    )
}

#[test]
fn a_file_the_host_writes_has_the_digest_of_its_bytes_and_appears_when_committed() {
    use sha2::{Digest, Sha256};
    let test = Test::new()
        .dir("docs")
        .file("out/x.sql", "old")
        .tasks(&format!(
            "{}{}",
            new_file_task("write", "out/x.sql", "0123456789", ", times = 300000"),
            new_file_task("drop", "out/y.sql", "abc", ", commit = false"),
        ));
    let expected = "0123456789".repeat(300_000);
    let sha = hex::encode(Sha256::digest(expected.as_bytes()));
    test.invoke(&["write"]).ok().stdout_contains(&format!(
        "out/x.sql: 3000000 bytes, sha256 {sha}\ncommitted out/x.sql"
    ));
    assert_eq!(
        std::fs::read_to_string(test.path("out/x.sql")).unwrap(),
        expected
    );
    // Finished but not committed (the plugin failed): nothing under its
    // name, and no temporary file left.
    test.invoke(&["drop"])
        .status(1)
        .stdout_contains("out/y.sql: 3 bytes")
        .stderr_contains("not committing out/y.sql");
    let left: Vec<_> = std::fs::read_dir(test.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["x.sql"]);
}

#[test]
fn the_host_writes_no_file_outside_a_write_grant_nor_under_plan() {
    let outside = tempfile::tempdir().unwrap();
    let test = Test::new().dir("docs").dir("out");
    symlink(outside.path(), test.path("out/link")).unwrap();
    let cases = [
        (
            "docs/x.sql",
            "`docs/x.sql` is not inside a directory granted to this task for writing",
        ),
        (
            "elsewhere/x.sql",
            "`elsewhere/x.sql` is not inside a directory granted to this task for writing",
        ),
        (
            "out/../x.sql",
            "`out/../x.sql` leaves its granted directory",
        ),
        (
            "out/link/x.sql",
            "`out/link/x.sql` passes through a symlink, `out/link` (to `",
        ),
    ];
    let tasks: String = cases
        .iter()
        .enumerate()
        .map(|(i, (path, _))| new_file_task(&format!("t{i}"), path, "x", ""))
        .collect();
    let test = test.tasks(&format!(
        "{tasks}{}",
        new_file_task("planned", "out/x.sql", "x", "")
    ));
    for (i, (path, message)) in cases.iter().enumerate() {
        test.invoke(&[&format!("t{i}")])
            .status(1)
            .stderr_contains(message);
        assert!(!test.path("x.sql").exists(), "{path}");
        assert!(!test.path("elsewhere").exists(), "{path}");
    }
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    test.invoke(&["--plan", "planned"])
        .status(1)
        .stderr_contains("nothing is written under `run --plan`");
    assert!(!test.path("out/x.sql").exists());
}

#[test]
fn the_host_reads_ahead_only_granted_regular_files() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "secret").unwrap();
    let test = Test::new()
        .file("docs/in.txt", "read by the host\n")
        .dir("out");
    symlink(outside.path().join("secret"), test.path("docs/link")).unwrap();
    let cases = [
        ("docs/in.txt", None),
        (
            "elsewhere/x",
            Some("`elsewhere/x` is not inside a directory granted to this task for reading"),
        ),
        (
            "docs/../x",
            Some("`docs/../x` leaves its granted directory"),
        ),
        ("docs/link", Some("`docs/link` is a symlink (to `")),
    ];
    let tasks: String = cases
        .iter()
        .enumerate()
        .map(|(i, (path, _))| {
            format!(
                "[tasks.t{i}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"read-file\", path = \"{path}\" }}\nallow = {{ write = [\"out\"], read = [\"docs\"] }}\n\n"
            )
        })
        .collect();
    let test = test.tasks(&tasks);
    for (i, (_, refusal)) in cases.iter().enumerate() {
        let outcome = test.invoke(&[&format!("t{i}")]);
        match refusal {
            None => {
                outcome.ok().stdout_contains("read by the host\n");
            }
            Some(message) => {
                outcome
                    .status(1)
                    .stderr_contains(message)
                    .stderr_lacks("secret\n");
            }
        }
    }
}

/// The host passes over a file for the plugin up to a line
/// (`read-file.skip-through-line`, how the sanitize plugin skips COPY
/// blocks): reading goes on after it, from the start of a line or from
/// inside one, a file that ends first is said to, and the line searched for
/// is bounded.
#[test]
fn the_host_skips_through_a_line_and_reading_goes_on_after_it() {
    let rows: String = (0..200_000).map(|i| format!("{i}\tvalue {i}\n")).collect();
    let dump = format!("{rows}\\.\nSELECT 1;\n");
    let task = |name: &str, line: &str, read_first: usize| {
        format!(
            "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"skip-file\", path = \"docs/dump.sql\", line = '{line}', read_first = {read_first} }}\nallow = {{ read = [\"docs\"] }}\n\n"
        )
    };
    let long = "x".repeat(300);
    let test = Test::new().file("docs/dump.sql", &dump).tasks(&format!(
        "{}{}{}{}",
        task("start", "\\.", 0),
        task("inside", "\\.", 7),
        task("absent", "SELECT", 0),
        task("long", &long, 0),
    ));
    let block = rows.len() + 3;
    test.invoke(&["start"]).ok().stdout_contains(&format!(
        "skipped {block} bytes, 200000 lines, found true\nSELECT 1;\n"
    ));
    // Seven bytes into the first row: its newline is the first passed over.
    test.invoke(&["inside"]).ok().stdout_contains(&format!(
        "skipped {} bytes, 200000 lines, found true\nSELECT 1;\n",
        block - 7
    ));
    test.invoke(&["absent"]).ok().stdout_contains(&format!(
        "skipped {} bytes, 200002 lines, found false\n",
        dump.len()
    ));
    test.invoke(&["long"])
        .status(1)
        .stderr_contains("the line to skip through is 300 bytes long; it must be 1 to 256");
}
