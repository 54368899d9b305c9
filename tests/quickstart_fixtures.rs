//! The measure of issue 15: quickstart's plan (`run --plan`) over every real
//! Compose file in the Compose reference implementation's end-to-end fixtures
//! (`../shared/data/compose`, read from there and copied into a temp project,
//! never into the repository). Each file is planned or refused with a reason;
//! the count must not fall below what has been reached (docs/quickstart.md).
//!
//! Each task gets what a user running that file would give it: the
//! variables Compose's own end-to-end tests set for it, and `allow.write`
//! where the file binds a directory read-write. Three files are refused by
//! Compose itself (an unknown key, an `env_file` that does not exist, an
//! override file without `image` or `build`); they are counted apart, so
//! the measure is "planned X of the Y files Compose accepts".
//!
//! `RUN_QS_FIXTURES_REPORT=1` prints every file's outcome.

use std::path::{Path, PathBuf};

use crate::support::images::{docker, docker_output};
use crate::test::Test;

/// The external network `watch/with-external-network.yaml` joins, which
/// Compose's e2e test creates before it runs the file (pkg/e2e/watch_test.go).
const EXTERNAL_NETWORK: &str = "e2e-watch-external_network_test";

/// Removes the external network at the end if this test created it.
struct CreatedNetwork(bool);

impl Drop for CreatedNetwork {
    fn drop(&mut self) {
        if self.0 {
            let _ = docker_output(&["network", "rm", EXTERNAL_NETWORK]);
        }
    }
}

/// Files planned at the last measure; a change that plans fewer fails here.
const PLANNED_AT_LEAST: usize = 51;

/// Files Compose itself refuses, and why; each must be refused here too.
const COMPOSE_REFUSES: &[(&str, &str)] = &[
    ("wrong-composefile/compose.yaml", "wrongField"),
    ("env_file/compose.yaml", "/doesnotexist/.env"),
    (
        "publish/oci/compose-override.yaml",
        "`image` or `build` is required",
    ),
];

/// What a user running `file` gives its task, as Compose's own e2e tests
/// do (pkg/e2e in docker/compose): variables (`ROOT` stands for the
/// project's absolute path) and extra grants (TOML, inside `allow`).
fn given(file: &str) -> (&'static [(&'static str, &'static str)], &'static str) {
    match file {
        // TestLocalComposeLargeLogs: FILE is a file in a temporary directory.
        "logs-test/cat.yaml" => (&[("FILE", "ROOT/tmp/large.txt")], r#"write = ["ROOT/tmp"]"#),
        // TestProjectVolumeBind: TEST_DIR is a temporary directory.
        "project-volume-bind-test/docker-compose.yml" => {
            (&[("TEST_DIR", "ROOT/tmp")], r#"write = ["ROOT/tmp"]"#)
        }
        // The nested .env test runs from nested/sub, whose .env sets SUB=sub.
        "nested/compose.yaml" => (&[("SUB", "sub")], ""),
        // Compose's test only converts it uninterpolated; the Dockerfile is
        // the one its context holds.
        "simple-build-test/compose-interpolate.yaml" => (&[("MYVAR", "Dockerfile")], ""),
        // Read-write binds of the fixture's own directories.
        "volume-test/compose.yaml" => ((&[]), r#"write = ["fx/volume-test/static"]"#),
        "watch/compose.yaml" => ((&[]), r#"write = ["fx/watch/dat", "fx/watch/data-logs"]"#),
        _ => (&[], ""),
    }
}

/// The fixtures, which must be there: the clone sits beside `../shared` (as
/// on CI), and a measure that quietly measured nothing would pass.
fn fixtures_root() -> PathBuf {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/compose/docker-compose-e2e");
    assert!(
        root.is_dir(),
        "no Compose fixtures at {}: this test reads ../shared/data/compose beside the clone",
        root.display()
    );
    root
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn compose_files(dir: &Path, under: &str, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if under.is_empty() {
            name.clone()
        } else {
            format!("{under}/{name}")
        };
        if entry.file_type().unwrap().is_dir() {
            // Expected outputs of Compose's Kubernetes bridge, not Compose files.
            if !name.starts_with("expected-") {
                compose_files(&entry.path(), &path, out);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
}

/// The plugin's refusal without the runner's prefix, its lines joined.
fn reason(stderr: &str) -> String {
    let from = stderr.find("error:").unwrap_or(0);
    let text: Vec<&str> = stderr[from..]
        .lines()
        .take_while(|l| !l.starts_with("run: "))
        .map(str::trim)
        .collect();
    let text = text.join(" ");
    match text.split_once("(plugin `quickstart`): ") {
        Some((_, why)) => why.to_owned(),
        None => text,
    }
}

#[test]
fn real_compose_files_are_planned_or_refused_with_a_reason() {
    let root = fixtures_root();
    let mut files = Vec::new();
    compose_files(&root, "", &mut files);
    assert!(files.len() >= 40, "{files:?}");
    let test = Test::new().tap(|t| copy_tree(&root, &t.path("fx")));
    let here = test.path("");
    let here = here.to_str().unwrap().trim_end_matches('/');
    std::fs::create_dir_all(test.path("tmp")).unwrap();
    std::fs::write(test.path("tmp/large.txt"), "a large text file\n").unwrap();
    let mut tasks = String::new();
    for (i, file) in files.iter().enumerate() {
        let (env, allow) = given(file);
        let names: Vec<String> = env.iter().map(|(k, _)| format!("\"{k}\"")).collect();
        let allow = if allow.is_empty() {
            String::new()
        } else {
            format!(", {}", allow.replace("ROOT", here))
        };
        tasks.push_str(&format!(
            "[tasks.f{i}]\nplugin = \"quickstart\"\nconfig = {{ file = \"fx/{file}\" }}\nenv = [{}]\nallow = {{ read = [\"fx\"], containers = [\"*\"], images = [\"*\"], networks = [\"*\"], volumes = [\"*\"], ports = [\"1-65535\"], namespaces = [\"container-network\"]{allow} }}\n\n",
            names.join(", ")
        ));
    }
    std::fs::write(test.path("tasks.toml"), tasks).unwrap();
    // Issue 15: `--plan` said "would start" for a file whose external
    // network is missing, on which `up` fails; the plan now checks it too.
    let external = files
        .iter()
        .position(|f| f == "watch/with-external-network.yaml")
        .expect("the fixture with an external network");
    let exists = docker_output(&["network", "inspect", EXTERNAL_NETWORK])
        .status
        .success();
    if !exists {
        test.invoke_env(&[], &["--plan", &format!("f{external}")])
            .status(1)
            .stderr_contains(&format!(
                "external network `{EXTERNAL_NETWORK}` does not exist: create it"
            ));
        docker(&["network", "create", EXTERNAL_NETWORK]);
    }
    let _created = CreatedNetwork(!exists);
    let mut planned = 0;
    let mut compose_refuses = 0;
    let mut report = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let (env, _) = given(file);
        let env: Vec<(&str, String)> = env
            .iter()
            .map(|(k, v)| (*k, v.replace("ROOT", here)))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = test.invoke_env(&env, &["--plan", &format!("f{i}")]);
        let refused_by_compose = COMPOSE_REFUSES.iter().find(|(f, _)| f == file);
        if let Some((_, why)) = refused_by_compose {
            assert!(
                out.status != Some(0) && out.stderr.contains(why),
                "{file} is refused by Compose ({why}), and must be here too{}",
                out.context()
            );
            compose_refuses += 1;
            report.push(format!("COMPOSE  {file}: {}", reason(&out.stderr)));
        } else if out.status == Some(0) && out.stdout.contains("would start project") {
            planned += 1;
            report.push(format!("PLANNED  {file}"));
        } else {
            assert!(
                out.stderr.contains("error:"),
                "a refusal says why{}",
                out.context()
            );
            report.push(format!("REFUSED  {file}: {}", reason(&out.stderr)));
        }
    }
    assert_eq!(compose_refuses, COMPOSE_REFUSES.len());
    let accepted = files.len() - compose_refuses;
    let summary = format!(
        "planned {planned} of {accepted} Compose files that Compose accepts ({} files, {compose_refuses} refused by Compose itself)",
        files.len()
    );
    if std::env::var_os("RUN_QS_FIXTURES_REPORT").is_some() {
        eprintln!("{}\n{summary}", report.join("\n"));
    }
    assert!(
        planned >= PLANNED_AT_LEAST,
        "{summary}, fewer than {PLANNED_AT_LEAST}:\n{}",
        report.join("\n")
    );
}
