//! A test is a session at the terminal: a temp dir with a tasks.toml (and any
//! other files), the real `run` binary with some arguments, and the exact
//! stdout, stderr and exit status expected.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pretty_assertions::assert_eq;
use tempfile::TempDir;

/// The fixture plugin built from tests/programs (by tests/artifacts).
pub const FIXTURE: &str = test_artifacts::FIXTURE;

/// The hostile plugin built from tests/hostile (no SDK, by tests/artifacts).
pub const HOSTILE: &str = test_artifacts::HOSTILE;

/// A built-in plugin's component file, as runner/build.rs left it before
/// embedding it: `<target>/wasm-plugins/wasm32-wasip2/release/NAME.wasm`,
/// beside the test programs' `<target>/wasm-test-programs/…`. Tests that need
/// a real component *file* (a path plugin, a changed plugin) copy it; a
/// built-in referenced by name never touches the compile or descriptor cache.
pub fn builtin_wasm(name: &str) -> PathBuf {
    let release = Path::new(FIXTURE).parent().unwrap();
    let target = release.ancestors().nth(3).unwrap();
    let path = target
        .join("wasm-plugins/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "no built-in component at {}",
        path.display()
    );
    path
}

/// Precompiled components are shared by all tests, like a user's cache.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// The key the cache's entries are authenticated with: one for all tests,
/// like a user's (HOME differs from test to test, so the default would not be).
pub fn cache_key() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache.key")
}

pub struct Test {
    pub dir: TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    stderr_lacks: Vec<String>,
    status: i32,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
            stdout: None,
            stderr: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            stderr_lacks: Vec::new(),
            status: 0,
        }
    }

    /// Writes tasks.toml; `{fixture}` and `{hostile}` stand for those plugins' paths.
    pub fn tasks(self, toml: &str) -> Test {
        let toml = toml
            .replace("{fixture}", FIXTURE)
            .replace("{hostile}", HOSTILE);
        self.file("tasks.toml", &toml)
    }

    pub fn file(self, path: &str, content: &str) -> Test {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn dir(self, path: &str) -> Test {
        std::fs::create_dir_all(self.dir.path().join(path)).unwrap();
        self
    }

    /// Runs `f` on the test as built so far (to write binary files, make links).
    pub fn tap(self, f: impl FnOnce(&Test)) -> Test {
        f(&self);
        self
    }

    pub fn path(&self, path: &str) -> PathBuf {
        self.dir.path().join(path)
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdout(mut self, stdout: &str) -> Test {
        self.stdout = Some(stdout.into());
        self
    }

    pub fn stderr(mut self, stderr: &str) -> Test {
        self.stderr = Some(stderr.into());
        self
    }

    pub fn stdout_contains(mut self, text: &str) -> Test {
        self.stdout_contains.push(text.into());
        self
    }

    pub fn stderr_contains(mut self, text: &str) -> Test {
        self.stderr_contains.push(text.into());
        self
    }

    pub fn stderr_lacks(mut self, text: &str) -> Test {
        self.stderr_lacks.push(text.into());
        self
    }

    pub fn status(mut self, status: i32) -> Test {
        self.status = status;
        self
    }

    /// The command `run` would be, for tests that drive the process themselves.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_run"));
        // A clean environment: no CI, GITHUB_ACTIONS, NO_COLOR or RUN_LOG from
        // the machine running the tests, and nothing for env tests to see by accident.
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("RUN_CACHE_DIR", cache_dir())
            .env("RUN_CACHE_KEY", cache_key())
            .envs(engine_env())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.path())
            .args(&self.args)
            .stdin(Stdio::null());
        command
    }

    /// Like `run`, but the expected stderr need only be a prefix of the real one
    /// (for summaries ending in a duration).
    pub fn run_prefix(mut self) -> (Output, Test) {
        let expected = self.stderr.take().expect("run_prefix needs .stderr(...)");
        let (output, test) = self.run();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&expected),
            "stderr {stderr:?} does not start with {expected:?}"
        );
        (output, test)
    }

    /// Runs and checks everything that was asked; returns the output and the test
    /// (whose temp dir lives on for further checks).
    pub fn run(self) -> (Output, Test) {
        let output = self.command().output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!("\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        if let Some(expected) = &self.stdout {
            assert_eq!(&*stdout, expected, "stdout differs{context}");
        }
        if let Some(expected) = &self.stderr {
            assert_eq!(&*stderr, expected, "stderr differs{context}");
        }
        for text in &self.stdout_contains {
            assert!(stdout.contains(text), "stdout lacks {text:?}{context}");
        }
        for text in &self.stderr_contains {
            assert!(stderr.contains(text), "stderr lacks {text:?}{context}");
        }
        for text in &self.stderr_lacks {
            assert!(!stderr.contains(text), "stderr has {text:?}{context}");
        }
        assert_eq!(
            output.status.code(),
            Some(self.status),
            "exit status{context}"
        );
        (output, self)
    }
}

/// Several invocations in one project (a backup, then a restore, ...): each
/// returns an [`Outcome`] to check, and the project directory stays.
impl Test {
    /// Runs `run ARGS` in the project.
    pub fn invoke(&self, args: &[&str]) -> Outcome {
        self.invoke_env(&[], args)
    }

    /// Runs `run ARGS` in the project with extra environment variables.
    pub fn invoke_env(&self, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        let output = self
            .command()
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        Outcome {
            args: args.join(" "),
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What one [`Test::invoke`] printed and returned; each check names the
/// command and shows both streams when it fails.
pub struct Outcome {
    pub args: String,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The command and its output, for assertion messages.
    pub fn context(&self) -> String {
        format!(
            "\n--- run {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn status(self, status: i32) -> Outcome {
        assert_eq!(self.status, Some(status), "exit status{}", self.context());
        self
    }

    #[track_caller]
    pub fn ok(self) -> Outcome {
        self.status(0)
    }

    #[track_caller]
    pub fn stdout_contains(self, text: &str) -> Outcome {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(self, text: &str) -> Outcome {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}{}",
            self.context()
        );
        self
    }

    /// Where `text` is in stderr (it must be there), to check the order of lines.
    #[track_caller]
    pub fn stderr_at(&self, text: &str) -> usize {
        self.stderr
            .find(text)
            .unwrap_or_else(|| panic!("stderr lacks {text:?}{}", self.context()))
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}){}", self.context()))
    }

    #[track_caller]
    pub fn stderr_lacks(self, text: &str) -> Outcome {
        assert!(
            !self.stderr.contains(text),
            "stderr has {text:?}{}",
            self.context()
        );
        self
    }
}

/// The engine settings of the machine running the tests (`DOCKER_HOST`,
/// `DOCKER_CONTEXT`, ...), passed on to `run` so the whole suite can run
/// against another engine (Podman, a remote engine): the tests' own `docker`
/// commands see them too.
pub fn engine_env() -> Vec<(&'static str, std::ffi::OsString)> {
    const VARS: [&str; 6] = [
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_TLS",
        "DOCKER_CERT_PATH",
    ];
    VARS.iter()
        .filter_map(|&var| std::env::var_os(var).map(|value| (var, value)))
        .collect()
}
