//! The measure of issue 15: quickstart's plan (`run --plan`) over every real
//! Compose file in the Compose reference implementation's end-to-end fixtures
//! (`../shared/data/compose`, read from there and copied into a temp project,
//! never into the repository). Each file is planned or refused with a reason;
//! the count must not fall below what has been reached (docs/quickstart.md).
//!
//! `RUN_QS_FIXTURES_REPORT=1` prints every file's outcome.

use std::path::{Path, PathBuf};

use crate::test::Test;

/// Files planned at the last measure; a change that plans fewer fails here.
const PLANNED_AT_LEAST: usize = 43;

fn fixtures_root() -> Option<PathBuf> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/compose/docker-compose-e2e");
    root.is_dir().then_some(root)
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
    let Some(root) = fixtures_root() else {
        eprintln!("no Compose fixtures at ../shared/data/compose: nothing measured");
        return;
    };
    let mut files = Vec::new();
    compose_files(&root, "", &mut files);
    assert!(files.len() >= 40, "{files:?}");
    let mut tasks = String::new();
    for (i, file) in files.iter().enumerate() {
        tasks.push_str(&format!(
            "[tasks.f{i}]\nplugin = \"quickstart\"\nconfig = {{ file = \"fx/{file}\" }}\nallow = {{ read = [\"fx\"], containers = [\"*\"], images = [\"*\"], networks = [\"*\"], volumes = [\"*\"], ports = [\"1-65535\"], namespaces = [\"container-network\"] }}\n\n"
        ));
    }
    let test = Test::new()
        .tasks(&tasks)
        .tap(|t| copy_tree(&root, &t.path("fx")));
    let mut planned = 0;
    let mut report = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let out = test.invoke(&["--plan", &format!("f{i}")]);
        if out.status == Some(0) && out.stdout.contains("would start project") {
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
    let summary = format!("{planned} of {} Compose files planned", files.len());
    if std::env::var_os("RUN_QS_FIXTURES_REPORT").is_some() {
        eprintln!("{}\n{summary}", report.join("\n"));
    }
    assert!(
        planned >= PLANNED_AT_LEAST,
        "{summary}, fewer than {PLANNED_AT_LEAST}:\n{}",
        report.join("\n")
    );
}
