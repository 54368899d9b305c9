//! The built-in `backup` plugin against real containers: dumps that restore
//! row for row, failures that leave nothing behind, checksums verified before
//! a restore, retention that spares pinned backups, and volume snapshots.
//!
//! Needs a Docker Engine and the test images (`images::ensure()` builds them).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::engine_proxy::EngineProxy;
use crate::support::images::{self, Container, docker};
use crate::support::sshd::Sshd;
use crate::test::Test;

/// The two tasks of the issue, as a user would write them, for `container`.
fn tasks(container: &str, backup_extra: &str) -> String {
    format!(
        r#"[tasks.backup]
description = "Dump every database of {container}"
plugin = "backup"
config = {{ container = "{container}", user = "postgres", dir = "backups", keep = 10{backup_extra} }}
allow = {{ containers = ["{container}"], write = ["backups"] }}

[tasks.restore]
description = "Restore a backup into {container}"
plugin = "backup"
config = {{ container = "{container}", user = "postgres", dir = "backups", mode = "restore" }}
allow = {{ containers = ["{container}"], read = ["backups"] }}
"#
    )
}

/// Every file name in `dir` (hidden ones included), sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(read) => read
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// The dumps (not manifests) in `dir`, sorted by name (= by time).
fn dumps(dir: &Path) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|f| f.ends_with(".sql.zst"))
        .collect()
}

fn manifest(dir: &Path, file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("{file}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A table with enough rows (and awkward values) to notice any loss.
fn seed(pg: &Container) {
    pg.psql(
        "create table items(id int primary key, name text, price numeric(10,2), note text); \
         insert into items select g, 'item ' || g, g * 1.25, \
           case when g % 7 = 0 then null else E'tab\\there ''quoted'' ü' end \
         from generate_series(1, 2000) g;",
    );
}

const ROWS: &str = "select id, name, price, coalesce(note, '<null>') from items order by id";

#[test]
fn a_backup_restores_row_for_row() {
    images::ensure();
    let pg = Container::postgres("backup-roundtrip");
    let name = pg.name.clone();
    seed(&pg);
    let before = pg.psql(ROWS);
    assert_eq!(before.lines().count(), 2000, "{before}");

    let project = Test::new().tasks(&tasks(&name, ""));
    project.invoke(&["backup"]).ok().stdout_contains(&format!(
        "backed up container `{name}` into backups/{name}_"
    ));
    let dir = project.path("backups");
    let dumps = dumps(&dir);
    assert_eq!(dumps.len(), 1, "{:?}", files(&dir));
    let file = &dumps[0];
    // NAME_20261122T203000Z.sql.zst
    let stamp = file
        .strip_prefix(&format!("{name}_"))
        .and_then(|f| f.strip_suffix(".sql.zst"))
        .unwrap();
    assert!(
        stamp.len() == 16 && stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
        "{file}"
    );
    assert_eq!(
        files(&dir),
        [file.clone(), format!("{file}.json")],
        "nothing else is left behind"
    );

    let m = manifest(&dir, file);
    assert_eq!(m["schema"], "run.backup/v1");
    assert_eq!(m["kind"], "dump");
    assert_eq!(m["file"], file.as_str());
    assert_eq!(m["container"], name.as_str());
    assert_eq!(m["exit_code"], 0);
    assert_eq!(m["pinned"], false);
    assert!(m["hook_for"].is_null(), "{m}");
    assert!(!m["image"].as_str().unwrap().is_empty(), "{m}");
    assert!(
        m["server_version"].as_str().unwrap().starts_with("15"),
        "{m}"
    );
    assert!(m["created_at"].as_str().unwrap().ends_with('Z'), "{m}");
    let bytes = std::fs::read(dir.join(file)).unwrap();
    assert_eq!(m["bytes"], bytes.len() as u64);
    assert_eq!(m["sha256"], hex::encode(Sha256::digest(&bytes)));
    // zstd's magic number: the host compressed it.
    assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd]);

    pg.psql("drop table items;");
    project
        .invoke(&["--yes", "restore", "--latest"])
        .ok()
        .stdout_contains(&format!("restored {file} into container `{name}`"));
    assert_eq!(pg.psql(ROWS), before);
}

/// The restore leaves out the `DROP ROLE`/`CREATE ROLE` lines of roles the
/// server has and adds `WITH (FORCE)` to `DROP DATABASE`: lines of the dump's
/// SQL, never of its data. A row that reads exactly like one of them was
/// removed or rewritten by the line filter before.
#[test]
fn rows_that_read_like_the_filtered_statements_are_restored_as_they_were() {
    images::ensure();
    let pg = Container::postgres("backup-sqlish-rows");
    let name = pg.name.clone();
    pg.psql(
        "create table notes (body text); \
         insert into notes values ('DROP ROLE IF EXISTS postgres;'), ('CREATE ROLE postgres;'), \
         ('DROP DATABASE postgres;'), ('DROP DATABASE IF EXISTS shop;');",
    );
    let rows = "select body from notes order by body;";
    let before = pg.psql(rows);
    assert_eq!(before.lines().count(), 4, "{before}");
    let project = Test::new().tasks(&tasks(&name, ""));
    project.invoke(&["backup"]).ok();
    pg.psql("delete from notes;");
    project.invoke(&["--yes", "restore", "--latest"]).ok();
    assert_eq!(pg.psql(rows), before);
}

#[test]
fn a_restore_over_existing_data_replaces_it() {
    images::ensure();
    let pg = Container::postgres("backup-overwrite");
    let name = pg.name.clone();
    seed(&pg);
    let before = pg.psql(ROWS);
    let project = Test::new().tasks(&tasks(&name, ""));
    project.invoke(&["backup"]).ok();
    // Changed, not dropped: the dump's --clean must replace what is there.
    pg.psql(
        "update items set name = 'changed' where id < 100; \
         insert into items values (9999, 'new', 1, null);",
    );
    project.invoke(&["--yes", "restore", "--latest"]).ok();
    assert_eq!(pg.psql(ROWS), before);
    // A restore can be repeated, and a backup named on the command line works.
    let file = dumps(&project.path("backups")).remove(0);
    project.invoke(&["--yes", "restore", &file]).ok();
    assert_eq!(pg.psql(ROWS), before);
}

#[test]
fn a_stopped_container_fails_and_leaves_nothing() {
    images::ensure();
    let pg = Container::postgres("backup-stopped");
    let name = pg.name.clone();
    docker(&["stop", &name]);
    let project = Test::new().tasks(&tasks(&name, ""));
    project
        .invoke(&["backup"])
        .status(1)
        .stderr_contains(&format!("container `{name}` is exited"));
    assert_eq!(files(&project.path("backups")), Vec::<String>::new());
}

#[test]
fn wrong_credentials_fail_with_the_server_message_and_leave_nothing() {
    images::ensure();
    let pg = Container::postgres("backup-role");
    let name = pg.name.clone();
    let toml = tasks(&name, "").replacen("user = \"postgres\"", "user = \"no_such_role\"", 1);
    let project = Test::new().tasks(&toml);
    project
        .invoke(&["backup"])
        .status(1)
        .stderr_contains(&format!("pg_dumpall in container `{name}` failed"))
        .stderr_contains("role \"no_such_role\" does not exist");
    assert_eq!(files(&project.path("backups")), Vec::<String>::new());
}

#[test]
fn a_corrupted_backup_is_refused_before_touching_the_database() {
    images::ensure();
    let pg = Container::postgres("backup-corrupt");
    let name = pg.name.clone();
    seed(&pg);
    let project = Test::new().tasks(&tasks(&name, ""));
    project.invoke(&["backup"]).ok();
    let dir = project.path("backups");
    let file = dumps(&dir).remove(0);
    let expected = manifest(&dir, &file)["sha256"].as_str().unwrap().to_owned();
    let path = dir.join(&file);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    // A change after the backup: a refused restore must leave it in place.
    pg.psql("insert into items values (5000, 'after the backup', 1, null);");
    let after = pg.psql(ROWS);
    project
        .invoke(&["--yes", "restore", "--latest"])
        .status(1)
        .stderr_contains(&format!("backup {file} is corrupted: sha256 "))
        .stderr_contains(&format!("expected {expected}"));
    assert_eq!(pg.psql(ROWS), after);
}

#[test]
fn retention_keeps_the_newest_and_every_pinned_backup() {
    images::ensure();
    let pg = Container::postgres("backup-keep");
    let name = pg.name.clone();
    let toml = tasks(&name, "").replace("keep = 10", "keep = 2")
        + "\n[tasks.migrate]\ncommand = \"true\"\nbefore = [\"backup\"]\n";
    let project = Test::new().tasks(&toml);
    let dir = project.path("backups");
    project.invoke(&["backup"]).ok();
    let first = dumps(&dir);
    assert_eq!(first.len(), 1);

    // Run as a hook before `migrate`: pinned.
    project.invoke(&["migrate"]).ok();
    let pinned: Vec<String> = dumps(&dir)
        .into_iter()
        .filter(|f| !first.contains(f))
        .collect();
    assert_eq!(pinned.len(), 1);
    let m = manifest(&dir, &pinned[0]);
    assert_eq!(m["pinned"], true);
    assert_eq!(m["hook_for"], "migrate");

    let mut removals = 0;
    for _ in 0..3 {
        let outcome = project.invoke(&["backup"]).ok();
        removals += outcome.stderr.matches("removed backups/").count();
    }
    let left = dumps(&dir);
    // The pinned one, and the two newest regular ones.
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&pinned[0]), "{left:?}");
    assert!(!left.contains(&first[0]), "{left:?}");
    assert_eq!(removals, 2, "each removal is logged");
    // Every dump still has its manifest, and nothing else is left.
    let mut expected: Vec<String> = left
        .iter()
        .flat_map(|f| [f.clone(), format!("{f}.json")])
        .collect();
    expected.sort();
    assert_eq!(files(&dir), expected);
}

#[test]
fn retention_under_plan_only_reports() {
    images::ensure();
    let pg = Container::postgres("backup-dry");
    let name = pg.name.clone();
    let project = Test::new().tasks(&tasks(&name, "").replace("keep = 10", "keep = 1"));
    project.invoke(&["backup"]).ok();
    let dir = project.path("backups");
    let before = files(&dir);
    assert_eq!(dumps(&dir).len(), 1);
    project
        .invoke(&["--plan", "backup"])
        .ok()
        .stdout_contains("would run `pg_dumpall -U postgres --clean --if-exists`")
        .stderr_contains("would remove backups/");
    assert_eq!(files(&dir), before);
}

#[test]
fn stale_partial_files_of_a_killed_run_are_removed() {
    images::ensure();
    let pg = Container::postgres("backup-stale");
    let name = pg.name.clone();
    let project = Test::new().tasks(&tasks(&name, ""));
    let stale = format!("backups/.{name}_20200101T000000Z.sql.zst.partial");
    // What the host was writing when the runner was killed.
    let host_temp = format!("backups/..{name}_20200101T000000Z.sql.zst.partial.4242-0.part");
    let other = "backups/.someone-else_20200101T000000Z.sql.zst.partial";
    let others_temp = "backups/..someone-else_20200101T000000Z.sql.zst.partial.4242-0.part";
    std::fs::create_dir_all(project.path("backups")).unwrap();
    std::fs::write(project.path(&stale), "half a dump").unwrap();
    std::fs::write(project.path(&host_temp), "half a dump").unwrap();
    std::fs::write(project.path(other), "not ours").unwrap();
    std::fs::write(project.path(others_temp), "not ours").unwrap();
    project
        .invoke(&["backup"])
        .ok()
        .stderr_contains(&format!("removed {stale}"))
        .stderr_contains(&format!("removed {host_temp}"));
    assert!(!project.path(&stale).exists());
    assert!(!project.path(&host_temp).exists());
    assert!(
        project.path(other).exists() && project.path(others_temp).exists(),
        "other names' files are left alone"
    );
}

#[test]
fn an_ungranted_container_is_denied_by_name() {
    // The grant is checked before the engine is asked anything.
    let name = format!("pg-denied-{}", std::process::id());
    let toml = tasks(&name, "").replacen(
        &format!("containers = [\"{name}\"], write"),
        "containers = [\"pg-other\"], write",
        1,
    );
    let project = Test::new().tasks(&toml);
    // The container is one of the task's needs: refused before anything runs.
    project
        .invoke(&["backup"])
        .status(1)
        .stderr_contains("denied")
        .stderr_contains(&format!("containers = [\"{name}\"]"));
    assert_eq!(files(&project.path("backups")), Vec::<String>::new());
}

#[test]
fn a_restore_without_a_choice_fails_clearly_under_ci() {
    images::ensure();
    let pg = Container::postgres("backup-ci");
    let name = pg.name.clone();
    seed(&pg);
    let project = Test::new().tasks(&tasks(&name, ""));
    project.invoke(&["backup"]).ok();
    pg.psql("delete from items where id > 10;");
    let after = pg.psql(ROWS);
    project
        .invoke_env(&[("CI", "true")], &["restore"])
        .status(1)
        .stderr_contains("invalid input")
        .stderr_contains("--latest")
        .stderr_contains("no terminal")
        .stderr_lacks("restored");
    assert_eq!(pg.psql(ROWS), after);
}

/// A busybox container with a new named volume at /data; both are removed
/// when it is dropped.
fn busybox_with_volume(prefix: &str) -> Container {
    images::ensure();
    let name = images::unique_name(prefix);
    let volume = format!("{name}-data");
    let label = format!("{}=1", images::LABEL);
    // Built first so that Drop cleans up even if `docker run` fails.
    let container = Container {
        name,
        volumes: vec![volume.clone()],
    };
    docker(&["volume", "create", "--label", &label, &volume]);
    docker(&[
        "run",
        "-d",
        "--name",
        &container.name,
        "--label",
        &label,
        "-v",
        &format!("{volume}:/data"),
        images::BUSYBOX,
        "sleep",
        "86400",
    ]);
    container
}

fn sh(container: &Container, script: &str) -> String {
    docker(&["exec", &container.name, "sh", "-c", script])
}

/// Every file under /data with its checksum, size and mode.
fn listing(container: &Container) -> String {
    sh(
        container,
        "cd /data && find . -type f | sort | while read f; do \
         echo \"$(md5sum < \"$f\") $(stat -c '%s %a' \"$f\") $f\"; done",
    )
}

#[test]
fn a_volume_snapshot_restores_byte_for_byte() {
    let bb = busybox_with_volume("backup-snap");
    let name = bb.name.clone();
    let volume = bb.volumes[0].clone();
    sh(
        &bb,
        "mkdir -p /data/sub && echo hello > /data/a.txt && chmod 600 /data/a.txt \
         && head -c 300000 /dev/urandom > /data/sub/b.bin",
    );
    let before = listing(&bb);
    assert_eq!(before.lines().count(), 2, "{before}");

    let toml = format!(
        r#"[tasks.snapshot]
plugin = "backup"
config = {{ container = "{name}", dir = "snapshots", mode = "snapshot" }}
allow = {{ containers = ["{name}"], write = ["snapshots"] }}

[tasks.restore]
plugin = "backup"
config = {{ container = "{name}", dir = "snapshots", mode = "restore-snapshot" }}
allow = {{ containers = ["{name}"], read = ["snapshots"] }}
"#
    );
    let project = Test::new().tasks(&toml);
    project
        .invoke(&["snapshot"])
        .ok()
        .stdout_contains(&format!("snapshotted volume `{}`", volume));
    // Paused for the copy, running again after it.
    assert_eq!(bb.inspect("{{.State.Status}}"), "running");
    let dir = project.path("snapshots");
    let archives: Vec<String> = files(&dir)
        .into_iter()
        .filter(|f| f.ends_with(".tar.zst"))
        .collect();
    assert_eq!(archives.len(), 1, "{:?}", files(&dir));
    assert!(
        archives[0].starts_with(&format!("{name}-{}_", volume)),
        "{archives:?}"
    );
    let m = manifest(&dir, &archives[0]);
    assert_eq!(m["kind"], "snapshot");
    assert_eq!(m["volume"], volume.as_str());
    let bytes = std::fs::read(dir.join(&archives[0])).unwrap();
    assert_eq!(m["sha256"], hex::encode(Sha256::digest(&bytes)));

    sh(
        &bb,
        "echo changed > /data/a.txt && rm /data/sub/b.bin && echo extra > /data/c.txt",
    );
    assert_ne!(listing(&bb), before);

    // Refused while the container runs, unless told to stop it.
    project
        .invoke(&["--yes", "restore", "--latest"])
        .status(1)
        .stderr_contains(&format!("container `{name}` is running"))
        .stderr_contains("--stop");
    assert_ne!(listing(&bb), before);

    project
        .invoke(&["--yes", "restore", "--latest", "--stop"])
        .ok()
        .stdout_contains(&format!("restored {}", archives[0]));
    assert_eq!(bb.inspect("{{.State.Status}}"), "running");
    assert_eq!(listing(&bb), before);
}

/// A busybox container whose `pg_dumpall` is the given script: dumps that fail
/// in exactly the way a test needs, without timing a real server.
fn fake_postgres(prefix: &str, pg_dumpall: &str) -> Container {
    let c = Container::busybox(prefix, &[]);
    set_pg_dumpall(&c, pg_dumpall);
    c
}

fn set_pg_dumpall(c: &Container, script: &str) {
    let install = format!(
        "printf '%s\\n' '#!/bin/sh' {} > /bin/pg_dumpall && chmod +x /bin/pg_dumpall",
        shell_words(script)
    );
    let output = c.exec(&["sh", "-c", &install]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Each line of `script` as one single-quoted shell word.
fn shell_words(script: &str) -> String {
    script
        .lines()
        .map(|l| format!("'{}'", l.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

const COMPLETE_DUMP: &str =
    "echo 'CREATE TABLE t (id int);'\necho '-- PostgreSQL database cluster dump complete'";

/// A backup whose `pg_dumpall` is `script` fails with `message` and leaves
/// nothing in backups/.
fn assert_failed_dump_leaves_nothing(prefix: &str, script: &str, message: &str) {
    let pg = fake_postgres(prefix, script);
    let project = Test::new().tasks(&tasks(&pg.name, ""));
    project
        .invoke(&["backup"])
        .status(1)
        .stderr_contains(message);
    assert_eq!(files(&project.path("backups")), Vec::<String>::new());
}

#[test]
fn a_dump_cut_short_is_refused_and_leaves_nothing() {
    assert_failed_dump_leaves_nothing(
        "backup-cut",
        "echo '-- PostgreSQL database cluster dump'\necho 'CREATE TABLE t (id int);'",
        "is truncated",
    );
}

#[test]
fn a_dump_failing_half_way_reports_the_server_and_leaves_nothing() {
    assert_failed_dump_leaves_nothing(
        "backup-half",
        "echo 'CREATE TABLE t (id int);'\necho 'pg_dumpall: error: query failed: server closed the connection unexpectedly' >&2\nexit 1",
        "server closed the connection unexpectedly",
    );
}

#[test]
fn a_full_disk_fails_the_backup_and_leaves_nothing() {
    // 2 MB of base64 noise compresses to far more than the 64 KiB disk.
    let pg = fake_postgres(
        "backup-full",
        &format!("head -c 2000000 /dev/urandom | base64\n{COMPLETE_DUMP}"),
    );
    let project = Test::new().tasks(&tasks(&pg.name, ""));
    let backups = project.path("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&backups)
        .status()
        .unwrap();
    assert!(mounted.success(), "mounting a small tmpfs needs root");
    let outcome = project.invoke(&["backup"]);
    let left = files(&backups);
    std::process::Command::new("umount")
        .arg(&backups)
        .status()
        .unwrap();
    outcome.status(1).stderr_contains("No space left on device");
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn a_full_disk_while_writing_the_manifest_is_named_as_such() {
    // Regression: a full disk while writing the manifest read "I/O error
    // (os error 29)".
    let pg = fake_postgres("backup-full-manifest", COMPLETE_DUMP);
    let project = Test::new().tasks(&tasks(&pg.name, ""));
    let backups = project.path("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&backups)
        .status()
        .unwrap();
    assert!(mounted.success(), "mounting a small tmpfs needs root");
    // One 4 KiB page is left: the dump (a few bytes compressed) fits in it,
    // its manifest does not.
    std::fs::write(backups.join("filler"), vec![0u8; 60 << 10]).unwrap();
    let outcome = project.invoke(&["backup"]);
    let left = files(&backups);
    std::process::Command::new("umount")
        .arg(&backups)
        .status()
        .unwrap();
    outcome
        .status(1)
        .stderr_contains(&format!(
            "no space left on device writing `backups/{}_",
            pg.name
        ))
        .stderr_contains(".sql.zst.json`")
        .stderr_lacks("os error");
    assert_eq!(left, ["filler"], "nothing of the backup is left");
}

#[test]
fn a_runner_killed_mid_backup_leaves_no_backup_and_the_next_run_works() {
    let pg = fake_postgres(
        "backup-kill",
        "echo 'CREATE TABLE t (id int);'\nsleep 30\necho '-- PostgreSQL database cluster dump complete'",
    );
    let project = Test::new().tasks(&tasks(&pg.name, ""));
    let mut child = project.command().arg("backup").spawn().unwrap();
    let backups = project.path("backups");
    let started = std::time::Instant::now();
    // The host writes `.NAME.partial` under a temporary name of its own
    // (`..NAME.partial.PID-N.part`) until the dump ends.
    while !files(&backups).iter().any(|f| f.contains(".partial")) {
        assert!(
            started.elapsed().as_secs() < 30,
            "the backup never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind runs
    child.wait().unwrap();
    assert_eq!(
        dumps(&backups),
        Vec::<String>::new(),
        "a killed backup must not look like a backup"
    );

    set_pg_dumpall(&pg, COMPLETE_DUMP);
    project.invoke(&["backup"]).ok();
    let left = files(&backups);
    assert_eq!(dumps(&backups).len(), 1, "{left:?}");
    assert!(
        !left.iter().any(|f| f.ends_with(".partial")),
        "the stale partial file is removed: {left:?}"
    );
}

/// The programs running in `container` (`docker top`, so the image needs no
/// `ps`). Podman runs `ps` in the container for `-o` (the PostgreSQL image
/// has none) but reads its own descriptors (`pid,comm`) from /proc.
fn programs(container: &str) -> Vec<String> {
    let docker_form = images::docker_output(&["top", container, "-o", "pid,comm"]);
    let out = if docker_form.status.success() {
        String::from_utf8_lossy(&docker_form.stdout).into_owned()
    } else {
        docker(&["top", container, "pid,comm"])
    };
    out.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn a_runner_killed_mid_backup_stops_pg_dump_in_the_container() {
    // Regression: after the runner was SIGKILLed, pg_dump ran on in the
    // container (12 s and more), holding its snapshot and locks.
    images::ensure();
    let pg = Container::postgres("backup-orphan");
    let name = pg.name.clone();
    seed(&pg);
    // A dump that takes as long as the test wants: another session holds
    // an exclusive lock on `items` for a minute, and pg_dump waits for it.
    docker(&[
        "exec",
        "-d",
        &name,
        "psql",
        "-U",
        "postgres",
        "-c",
        "begin; lock table items in access exclusive mode; select pg_sleep(60);",
    ]);
    let locked = "select count(*) from pg_locks where relation = 'items'::regclass and granted";
    let started = std::time::Instant::now();
    while pg.psql(locked) == "0" {
        assert!(started.elapsed().as_secs() < 30, "the lock was never taken");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let project = Test::new().tasks(&tasks(&name, ""));
    let mut child = project.command().arg("backup").spawn().unwrap();
    let started = std::time::Instant::now();
    // pg_dumpall runs pg_dump for each database: both are in the container.
    while !programs(&name).iter().any(|p| p == "pg_dump") {
        assert!(
            started.elapsed().as_secs() < 60,
            "pg_dump never started: {:?}",
            programs(&name)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        programs(&name).iter().any(|p| p == "pg_dump"),
        "the dump is still waiting for the lock"
    );
    child.kill().unwrap(); // SIGKILL: nothing of the runner runs after it
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    let mut left = programs(&name);
    while left.iter().any(|p| p.starts_with("pg_dump")) {
        assert!(
            // pg_dump waits on a lock the test holds, so without the
            // watchdog it would run forever; 20 s is margin for a busy host.
            killed.elapsed() < std::time::Duration::from_secs(20),
            "still running 20 s after the runner died: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
        left = programs(&name);
    }
    // Nothing was orphaned to PostgreSQL (PID 1), which would take a child
    // killed by a signal for a crashed backend and restart the server.
    let logs = std::process::Command::new("docker")
        .args(["logs", &name])
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&logs.stderr);
    assert!(!logs.contains("terminated by signal"), "{logs}");
    // (`items` is still locked by the other session: ask something else.)
    assert_eq!(pg.psql("select 1"), "1");
}

/// The backup task of [`tasks`] with `--verify`'s throwaway containers granted.
fn verify_tasks(container: &str) -> String {
    tasks(container, "").replacen(
        &format!("containers = [\"{container}\"], write"),
        &format!("containers = [\"{container}\", \"{container}-verify-*\"], write"),
        1,
    )
}

/// Containers (running or not) whose name contains `part`.
fn containers_named(part: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={part}"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

#[test]
fn backup_verify_restores_into_a_throwaway_and_compares_counts() {
    images::ensure();
    let pg = Container::postgres("backup-verify");
    let name = pg.name.clone();
    seed(&pg);
    pg.psql("create schema audit; create table audit.log(id int); insert into audit.log values (1), (2), (3);");
    pg.psql("create database shop;");
    let shop = pg.exec(&[
        "psql",
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        "shop",
        "-c",
        "create table orders(id int); insert into orders select generate_series(1, 42); \
         create table empty(id int);",
    ]);
    assert!(
        shop.status.success(),
        "{}",
        String::from_utf8_lossy(&shop.stderr)
    );

    let project = Test::new().tasks(&verify_tasks(&name));
    project
        .invoke(&["--plan", "backup", "--verify"])
        .ok()
        .stdout_contains(&format!("would verify backups/{name}_"))
        .stdout_contains(&format!("`{name}-verify-"));
    assert!(containers_named(&format!("{name}-verify-")).is_empty());

    let outcome = project
        .invoke(&["backup", "--verify"])
        .ok()
        .stdout_contains(&format!("backed up container `{name}`"))
        .stderr_contains(&format!("creating throwaway container `{name}-verify-"))
        .stderr_contains(&format!("removed throwaway container `{name}-verify-"));
    // items and audit.log in postgres, orders and empty in shop.
    let file = dumps(&project.path("backups")).remove(0);
    let outcome = outcome.stderr_contains(&format!(
        "verified backups/{file}: 4 tables in 2 databases match {name}"
    ));
    assert_eq!(
        containers_named(&format!("{name}-verify-")),
        Vec::<String>::new(),
        "the throwaway is removed{}",
        outcome.context()
    );
}

#[test]
fn backup_verify_needs_the_throwaway_granted() {
    images::ensure();
    let pg = Container::postgres("backup-verify-denied");
    let name = pg.name.clone();
    seed(&pg);
    let project = Test::new().tasks(&tasks(&name, ""));
    // --verify makes the throwaway's glob one of the task's needs: the task
    // is refused before anything runs, naming the grant to add.
    project
        .invoke(&["backup", "--verify"])
        .status(1)
        .stderr_contains("denied")
        .stderr_contains(&format!("containers = [\"{name}-verify-*\"]"));
    assert!(dumps(&project.path("backups")).is_empty());
    assert_eq!(
        containers_named(&format!("{name}-verify-")),
        Vec::<String>::new()
    );
}

#[test]
fn backup_verify_reports_each_difference_and_keeps_the_backup() {
    images::ensure();
    let pg = Container::postgres("backup-verify-diff");
    let name = pg.name.clone();
    pg.psql("create table t(id int); insert into t values (0);");
    // Rows keep arriving: the source has more of them than the dump by the
    // time the counts are compared.
    docker(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "while true; do psql -U postgres -qc 'insert into t values (1)'; done",
    ]);
    while pg.psql("select count(*) from t") == "1" {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let project = Test::new().tasks(&verify_tasks(&name));
    project
        .invoke(&["backup", "--verify"])
        .status(1)
        .stderr_contains(&format!("differs from container `{name}`"))
        .stderr_contains("postgres.public.t: source ")
        .stderr_contains(", restored ")
        .stderr_contains("The backup is kept");
    let dir = project.path("backups");
    let dumps = dumps(&dir);
    assert_eq!(dumps.len(), 1, "{:?}", files(&dir));
    assert_eq!(
        files(&dir),
        [dumps[0].clone(), format!("{}.json", dumps[0])]
    );
    assert_eq!(
        containers_named(&format!("{name}-verify-")),
        Vec::<String>::new()
    );
}

#[test]
fn backup_verify_finds_a_changed_value_in_a_table_with_the_same_row_count() {
    // Regression: --verify compared row counts only, so a value changed
    // (or lost) without a row added or removed passed.
    images::ensure();
    let pg = Container::postgres("backup-verify-value");
    let name = pg.name.clone();
    seed(&pg);
    pg.psql(
        "create table other(id int primary key); insert into other select generate_series(1, 10);",
    );
    // One value of `items` keeps changing: the source differs from the dump
    // in that value by the time it is checksummed, with the same counts.
    docker(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "while true; do psql -U postgres -qc \"update items set name = 'changed ' || clock_timestamp() where id = 1\"; done",
    ]);
    while !pg
        .psql("select name from items where id = 1")
        .starts_with("changed")
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let project = Test::new().tasks(&verify_tasks(&name));
    project
        .invoke(&["backup", "--verify"])
        .status(1)
        .stderr_contains(&format!("differs from container `{name}` in 1 place:"))
        .stderr_contains("postgres.public.items: 2000 rows in both, but their contents differ")
        .stderr_lacks("public.other")
        .stderr_contains("The backup is kept");
    assert_eq!(dumps(&project.path("backups")).len(), 1);
    assert_eq!(
        containers_named(&format!("{name}-verify-")),
        Vec::<String>::new()
    );
}

/// A backup and its restore through a remote engine: the local one behind a
/// TLS proxy (`DOCKER_HOST=tcp://`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`).
/// The restore streams the dump into psql's stdin and ends it with a
/// half-close; its exit code is the command's, not the transport's (this
/// once read "sh exited with 126" over TCP although it had restored).
#[test]
fn a_backup_restores_over_tcp_with_tls() {
    images::ensure();
    let proxy = EngineProxy::tls();
    let env = proxy.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let pg = Container::postgres("backup-tls");
    let name = pg.name.clone();
    seed(&pg);
    let before = pg.psql(ROWS);

    let project = Test::new().tasks(&tasks(&name, ""));
    project
        .invoke_env(&env, &["--dry-run", "backup"])
        .ok()
        .stdout_contains(&format!(
            "engine tcp://127.0.0.1:{} (TLS, from DOCKER_HOST)",
            proxy.port
        ));
    project
        .invoke_env(&env, &["backup"])
        .ok()
        .stdout_contains(&format!("backed up container `{name}`"));
    pg.psql("drop table items;");
    project
        .invoke_env(&env, &["--yes", "restore", "--latest"])
        .ok()
        .stdout_contains("restored ");
    assert_eq!(pg.psql(ROWS), before);

    // A client without the engine's CA is refused, and the error says where.
    let elsewhere = tempfile::tempdir().unwrap();
    let certs = proxy.certs.as_ref().unwrap().path();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(certs.join(file), elsewhere.path().join(file)).unwrap();
    }
    std::fs::copy(certs.join("cert.pem"), elsewhere.path().join("ca.pem")).unwrap();
    let mut wrong = env.clone();
    let path = elsewhere.path().to_str().unwrap();
    wrong.retain(|(k, _)| *k != "DOCKER_CERT_PATH");
    wrong.push(("DOCKER_CERT_PATH", path));
    let out = project.invoke_env(&wrong, &["backup"]);
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "the container engine at tcp://127.0.0.1:{} (TLS, from DOCKER_HOST) failed: cannot be reached: TLS with the engine: invalid peer certificate: UnknownIssuer",
            proxy.port
        )),
        "{}",
        out.stderr
    );
}

/// The same over plain TCP, where the false exit code 126 was first seen.
#[test]
fn a_backup_restores_over_plain_tcp() {
    images::ensure();
    let proxy = EngineProxy::tcp();
    let host = proxy.host();
    let env = [("DOCKER_HOST", host.as_str())];
    let pg = Container::postgres("backup-tcp");
    let name = pg.name.clone();
    seed(&pg);
    let before = pg.psql(ROWS);
    let project = Test::new().tasks(&tasks(&name, ""));
    project.invoke_env(&env, &["backup"]).ok();
    pg.psql("drop table items;");
    project
        .invoke_env(&env, &["--yes", "restore", "--latest"])
        .ok()
        .stdout_contains("restored ");
    assert_eq!(pg.psql(ROWS), before);
}

/// Over SSH to a local sshd: the engine through its own
/// `docker system dial-stdio`, as the docker CLI reaches it.
#[test]
fn a_backup_restores_over_ssh() {
    images::ensure();
    let sshd = Sshd::start();
    let env = sshd.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let pg = Container::postgres("backup-ssh");
    let name = pg.name.clone();
    seed(&pg);
    let before = pg.psql(ROWS);
    let project = Test::new().tasks(&tasks(&name, ""));
    project
        .invoke_env(&env, &["--dry-run", "backup"])
        .ok()
        .stdout_contains(&format!(
            "engine ssh://root@127.0.0.1:{} (from DOCKER_HOST)",
            sshd.port
        ));
    project.invoke_env(&env, &["backup"]).ok();
    pg.psql("drop table items;");
    project
        .invoke_env(&env, &["--yes", "restore", "--latest"])
        .ok()
        .stdout_contains("restored ");
    assert_eq!(pg.psql(ROWS), before);
}
