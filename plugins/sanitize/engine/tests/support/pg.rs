//! A throwaway PostgreSQL server in a container, for the engine's tests
//! against real pg_dump output and real restores.
//!
//! Uses the project's test image (`run-test/postgres:15`, built from
//! Debian packages by tests/images/build.sh, which is run when the image
//! is missing). Without a Docker Engine the tests fail, saying so: they
//! are never skipped.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const IMAGE: &str = "run-test/postgres:15";

/// The repository root, from this crate's directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// A sample database shipped in `../shared/data/sample-db/` beside the
/// project (read there, never copied in).
pub fn sample_db(relative: &str) -> PathBuf {
    let path = root().join("../shared/data/sample-db").join(relative);
    assert!(
        path.is_file(),
        "the sample database {} is missing: these tests read the shared data beside the project",
        path.display()
    );
    path
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("these tests need a Docker Engine: cannot run `docker`: {e}"))
}

fn ensure_image() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let info = docker(&["info", "--format", "{{.ServerVersion}}"]);
        assert!(
            info.status.success(),
            "these tests need a Docker Engine: `docker info` failed: {}",
            String::from_utf8_lossy(&info.stderr).trim()
        );
        if docker(&["image", "inspect", IMAGE]).status.success() {
            return;
        }
        let script = root().join("tests/images/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{n}-{:06x}",
        std::process::id(),
        nanos & 0xff_ffff
    )
}

/// A PostgreSQL 15 container, removed when dropped.
pub struct Pg {
    pub name: String,
}

impl Pg {
    pub fn start(prefix: &str) -> Pg {
        ensure_image();
        let pg = Pg {
            name: unique_name(prefix),
        };
        let out = docker(&[
            "run",
            "-d",
            "--name",
            &pg.name,
            "--label",
            "run-test=1",
            "-e",
            "POSTGRES_PASSWORD=secret",
            IMAGE,
        ]);
        assert!(
            out.status.success(),
            "docker run {IMAGE}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let start = Instant::now();
        loop {
            let state = docker(&["inspect", "-f", "{{.State.Health.Status}}", &pg.name]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
            if state == "healthy" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{} not healthy after 120 s ({state})",
                pg.name
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        pg
    }

    fn exec(&self, args: &[&str], stdin: Option<&Path>) -> Output {
        let mut command = Command::new("docker");
        command.arg("exec");
        if stdin.is_some() {
            command.arg("-i");
        }
        command.arg(&self.name).args(args);
        match stdin {
            Some(path) => {
                let file =
                    std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                command.stdin(file);
            }
            None => {
                command.stdin(Stdio::null());
            }
        }
        command.output().expect("docker exec")
    }

    /// Runs SQL in `db`; returns unaligned tuples. Panics on error.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = self.exec(
            &[
                "psql",
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            None,
        );
        assert!(
            out.status.success(),
            "psql -d {db} -c {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    pub fn create_database(&self, db: &str) {
        self.sql("postgres", &format!("CREATE DATABASE \"{db}\""));
    }

    /// Feeds a SQL file to psql in `db` (stopping at the first error);
    /// `Err` holds psql's error output.
    pub fn run_file(&self, db: &str, file: &Path) -> Result<(), String> {
        let out = self.exec(
            &[
                "psql",
                "-U",
                "postgres",
                "-d",
                db,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "-",
            ],
            Some(file),
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `pg_dump --no-owner --no-privileges [extra] db` into `to`.
    pub fn dump(&self, db: &str, extra: &[&str], to: &Path) {
        let mut args = vec!["pg_dump", "-U", "postgres", "--no-owner", "--no-privileges"];
        args.extend_from_slice(extra);
        args.push(db);
        let out = self.exec(&args, None);
        assert!(
            out.status.success(),
            "pg_dump {db}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut file = std::fs::File::create(to).unwrap();
        file.write_all(&out.stdout).unwrap();
    }

    /// Constraints of user schemas by kind (`c|3 f|14 p|11 u|1`), and
    /// the number of tables, for comparing a restore with its source.
    pub fn shape(&self, db: &str) -> String {
        let constraints = self.sql(
            db,
            "select string_agg(contype::text || '|' || n, ' ' order by contype) from (select contype, count(*) n from pg_constraint c join pg_namespace s on s.oid = c.connamespace where nspname not in ('pg_catalog', 'information_schema') group by contype) x",
        );
        let tables = self.sql(
            db,
            "select count(*) from pg_class c join pg_namespace s on s.oid = c.relnamespace where relkind in ('r', 'p') and nspname not in ('pg_catalog', 'information_schema')",
        );
        format!("constraints {constraints}; tables {tables}")
    }

    /// Rows in a table (all partitions or children included).
    pub fn count(&self, db: &str, table: &str) -> u64 {
        self.sql(db, &format!("select count(*) from {table}"))
            .parse()
            .unwrap()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
