//! Container images and throwaway containers for the integration tests.
//!
//! There is no registry: `tests/images/build.sh` builds the images from Debian
//! packages and caches them by tag. [`ensure`] runs it once per test process;
//! a cached run takes milliseconds. The tests need a Docker Engine and fail
//! (never skip) without one.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// PostgreSQL 15 on Debian bookworm. `POSTGRES_PASSWORD` (default `postgres`)
/// is the password of user `postgres` over TCP; local socket connections are
/// trusted. Data in the volume `/var/lib/postgresql/data`; healthcheck
/// `pg_isready` every second.
pub const POSTGRES: &str = "run-test/postgres:15";
/// Static busybox; `CMD ["sh"]`.
pub const BUSYBOX: &str = "run-test/busybox:latest";

/// Password given to every container started by [`Container::postgres`].
pub const POSTGRES_PASSWORD: &str = "secret";

/// Label on every container and volume created here, so leftovers of a killed
/// test run can be removed with `docker rm -f -v $(docker ps -aq -f label=run-test)`.
pub const LABEL: &str = "run-test";

const HEALTHY_TIMEOUT: Duration = Duration::from_secs(60);

static ENSURE: Once = Once::new();

/// Checks that a Docker Engine answers and builds the test images if they are
/// missing. Runs once per process; panics with the script's output on failure.
pub fn ensure() {
    ENSURE.call_once(|| {
        match Command::new("docker")
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "these tests need a Docker Engine: `docker info` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(err) => panic!("these tests need a Docker Engine: cannot run `docker`: {err}"),
        }
        let script = build_script();
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
        if !out.status.success() {
            panic!(
                "{} failed ({}):\n{}{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

/// `tests/images/build.sh`, whether the test target belongs to the workspace
/// root or to a member crate (e.g. `runner/`, whose tests live in `../tests`).
fn build_script() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        manifest_dir.join("tests/images/build.sh"),
        manifest_dir.join("../tests/images/build.sh"),
    ]
    .into_iter()
    .find(|path| path.is_file())
    .unwrap_or_else(|| {
        panic!(
            "tests/images/build.sh not found from {}",
            manifest_dir.display()
        )
    })
}

/// A name no other container has: prefix, pid, a per-process counter, and a
/// time-based suffix (pids repeat across runs and pid namespaces).
pub fn unique_name(prefix: &str) -> String {
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

/// Runs `docker ARGS` and returns its stdout; panics with stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let out = docker_output(args);
    if !out.status.success() {
        panic!(
            "`docker {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `docker ARGS` and returns its output, whatever the exit status.
pub fn docker_output(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run `docker {}`: {err}", args.join(" ")))
}

/// Whether the engine the tests talk to is Podman (`docker version` names
/// a `Podman Engine` component); asked once.
pub fn engine_is_podman() -> bool {
    static PODMAN: OnceLock<bool> = OnceLock::new();
    *PODMAN.get_or_init(|| {
        docker(&[
            "version",
            "--format",
            "{{range .Server.Components}}{{.Name}};{{end}}",
        ])
        .contains("Podman Engine")
    })
}

/// Two containers where one reaches the other as `db`
/// ([`Container::linked_pair`]); removed, with the network, when dropped.
pub struct LinkedPair {
    pub victim: Container,
    pub app: Container,
    /// The victim's named volume.
    pub volume: String,
    network: Option<String>,
}

impl Drop for LinkedPair {
    fn drop(&mut self) {
        // The network goes once no container is on it (the volume goes with
        // the victim's own drop).
        let _ = docker_output(&["rm", "-f", &self.app.name, &self.victim.name]);
        if let Some(network) = &self.network {
            let _ = docker_output(&["network", "rm", network]);
        }
    }
}

/// A container removed (with its volumes) when dropped.
pub struct Container {
    pub name: String,
    /// Named volumes created for this container, removed on drop.
    pub volumes: Vec<String>,
}

impl Container {
    /// Starts `docker run -d --name <unique> RUN_ARGS IMAGE CMD` (after [`ensure`]).
    pub fn run(prefix: &str, run_args: &[&str], image: &str, cmd: &[&str]) -> Container {
        ensure();
        let container = Container {
            name: unique_name(prefix),
            volumes: Vec::new(),
        };
        container.start(run_args, image, cmd);
        container
    }

    fn start(&self, run_args: &[&str], image: &str, cmd: &[&str]) {
        let label = format!("{LABEL}=1");
        let mut args = vec!["run", "-d", "--name", &self.name, "--label", &label];
        args.extend_from_slice(run_args);
        args.push(image);
        args.extend_from_slice(cmd);
        docker(&args);
    }

    /// A PostgreSQL 15 server (password [`POSTGRES_PASSWORD`]), healthy on return.
    pub fn postgres(prefix: &str) -> Container {
        let env = format!("POSTGRES_PASSWORD={POSTGRES_PASSWORD}");
        let container = Container::run(prefix, &["-e", &env], POSTGRES, &[]);
        container.wait_healthy();
        container
    }

    /// Like [`Container::postgres`], with the data directory on a new named
    /// volume (`<name>-data`, in `self.volumes`) instead of an anonymous one.
    pub fn postgres_with_volume(prefix: &str) -> Container {
        ensure();
        let mut container = Container {
            name: unique_name(prefix),
            volumes: Vec::new(),
        };
        let volume = format!("{}-data", container.name);
        docker(&[
            "volume",
            "create",
            "--label",
            &format!("{LABEL}=1"),
            &volume,
        ]);
        container.volumes.push(volume.clone());
        let env = format!("POSTGRES_PASSWORD={POSTGRES_PASSWORD}");
        let mount = format!("{volume}:/var/lib/postgresql/data");
        container.start(&["-e", &env, "-v", &mount], POSTGRES, &[]);
        container.wait_healthy();
        container
    }

    /// A victim holding the named volume `TAG-secret` at /data, and a busybox
    /// `TAG-app-…` that reaches the victim as `db`. On Docker through a
    /// legacy `--link VICTIM:db`, so the victim shows as `APP/db` among the
    /// engine's names. Podman has no legacy links (`docker run --link`:
    /// "bad parameter: link is not supported"); there the same name comes
    /// from what it offers instead, the network alias `db` on a network both
    /// join (`TAG-net`, removed with the pair). Either way the app resolves
    /// `db` to the victim's address (checked here), so the alias is real.
    pub fn linked_pair(tag: &str) -> LinkedPair {
        ensure();
        let volume = format!("{tag}-secret");
        docker(&[
            "volume",
            "create",
            "--label",
            &format!("{LABEL}=1"),
            &volume,
        ]);
        let mount = format!("{volume}:/data");
        let network = engine_is_podman().then(|| format!("{tag}-net"));
        let mut victim_args = vec!["-v", mount.as_str()];
        if let Some(network) = &network {
            docker(&[
                "network",
                "create",
                "--label",
                &format!("{LABEL}=1"),
                network,
            ]);
            victim_args.extend(["--network", network, "--network-alias", "db"]);
        }
        let mut victim = Container::run(
            &format!("{tag}-victim"),
            &victim_args,
            BUSYBOX,
            &["sleep", "86400"],
        );
        victim.volumes.push(volume.clone());
        let link = format!("{}:db", victim.name);
        let app_args = match &network {
            Some(network) => ["--network", network.as_str()],
            None => ["--link", link.as_str()],
        };
        let app = Container::run(
            &format!("{tag}-app"),
            &app_args,
            BUSYBOX,
            &["sleep", "86400"],
        );
        let pair = LinkedPair {
            victim,
            app,
            volume,
            network,
        };
        let address = pair
            .victim
            .inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
        let ping = pair.app.exec(&["ping", "-c", "1", "-W", "5", "db"]);
        let said = String::from_utf8_lossy(&ping.stdout);
        assert!(
            said.contains(&format!("PING db ({address})")),
            "the app does not reach the victim as `db`: {said}{}",
            String::from_utf8_lossy(&ping.stderr)
        );
        pair
    }

    /// A busybox container running `args` (default: `sleep 86400`).
    pub fn busybox(prefix: &str, args: &[&str]) -> Container {
        let cmd: &[&str] = if args.is_empty() {
            &["sleep", "86400"]
        } else {
            args
        };
        Container::run(prefix, &[], BUSYBOX, cmd)
    }

    /// `docker inspect -f FORMAT name`, trimmed.
    pub fn inspect(&self, format: &str) -> String {
        docker(&["inspect", "-f", format, &self.name])
            .trim()
            .to_owned()
    }

    /// Waits until the healthcheck reports `healthy`; panics with the logs if the
    /// container stops, turns `unhealthy` or takes more than 60 s.
    pub fn wait_healthy(&self) {
        let start = Instant::now();
        loop {
            let state = self
                .inspect("{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}");
            match state.as_str() {
                "running healthy" => return,
                "running starting" if start.elapsed() < HEALTHY_TIMEOUT => {
                    // Podman runs health checks from systemd timers; without
                    // systemd (CI containers) nothing runs them: run one.
                    if std::env::var_os("RUN_TEST_PODMAN_HEALTHCHECKS").is_some() {
                        let _ = Command::new("podman")
                            .args(["healthcheck", "run", &self.name])
                            .output();
                    }
                }
                _ => panic!(
                    "container {} not healthy after {:?} (state: {state}); logs:\n{}",
                    self.name,
                    start.elapsed(),
                    self.logs()
                ),
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// stdout and stderr of the container so far.
    pub fn logs(&self) -> String {
        let out = docker_output(&["logs", &self.name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// `docker exec name ARGS`, whatever the exit status.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        docker_output(&all)
    }

    /// Runs SQL as `postgres` over the container's local socket; returns the
    /// unaligned, tuples-only output without the final newline. Panics on error.
    pub fn psql(&self, sql: &str) -> String {
        let out = self.exec(&[
            "psql",
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            sql,
        ]);
        if !out.status.success() {
            panic!(
                "psql in {} failed ({}) for {sql:?}: {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout.strip_suffix('\n').unwrap_or(&stdout).to_owned()
    }

    /// The container's address on the default bridge network.
    pub fn ip(&self) -> String {
        self.inspect("{{.NetworkSettings.IPAddress}}")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
        for volume in &self.volumes {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", volume])
                .output();
        }
    }
}

/// Gives DIR to the user rootless Podman runs as (tests/engines/podman.sh
/// with RUN_TEST_PODMAN_USER), when it does: a rootless container's root is
/// that user on the host, who can write only where that user can. A person
/// running `run` and Podman as themselves owns their project's directories;
/// the tests run as root, so a directory a container must write is handed
/// over the same way. A no-op on Docker and rootful Podman.
pub fn give_to_engine_user(dir: &std::path::Path) {
    let Some(user) = std::env::var_os("RUN_TEST_PODMAN_USER") else {
        return;
    };
    let status = Command::new("chown")
        .arg(&user)
        .arg(dir)
        .status()
        .expect("chown runs");
    assert!(status.success(), "chown {user:?} {}", dir.display());
}
