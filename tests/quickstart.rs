//! The built-in `quickstart` plugin against the real engine: a PostgreSQL +
//! web server + one-shot job stack reaching readiness in dependency order,
//! its URL table, a second run that changes nothing, `status`, `down` with
//! and without volumes, and the failures a person must understand: a failing
//! healthcheck, a port already taken, an image that cannot be pulled, and
//! every grant the stack needs denied by default.
//!
//! Every project is named `run-test-qs-…`; a guard removes what it created.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use crate::support::images::{self, BUSYBOX, POSTGRES, docker, docker_output, unique_name};
use crate::test::{Outcome, Test};

/// A project name no other test uses; its containers, network and volumes
/// are removed when dropped.
struct Project {
    name: String,
    test: Test,
}

impl Drop for Project {
    fn drop(&mut self) {
        // The project's containers, and any other named after it (a test's
        // container of "another project"), even when the test failed half-way.
        let label = format!("label=com.docker.compose.project={}", self.name);
        let prefix = format!("name={}-", self.name);
        for filter in [label, prefix] {
            let ids = docker(&["ps", "-aq", "--filter", &filter]);
            for id in ids.split_whitespace() {
                let _ = docker_output(&["rm", "-f", "-v", id]);
            }
        }
        for network in self.networks() {
            let _ = docker_output(&["network", "rm", &network]);
        }
        for volume in self.volumes() {
            let _ = docker_output(&["volume", "rm", "-f", &volume]);
        }
    }
}

impl Project {
    /// `compose` is the Compose file; `allow` the `up` task's extra grants
    /// (TOML, inside `allow = { … }`), where `PROJECT` stands for the project name.
    fn new(compose: &str, allow: &str) -> Project {
        images::ensure();
        let name = unique_name("run-test-qs");
        let allow = if allow.is_empty() {
            String::new()
        } else {
            format!(", {}", allow.replace("PROJECT", &name))
        };
        let tasks = format!(
            r#"[tasks.up]
plugin = "quickstart"
config = {{ file = "stack/compose.yaml", project = "{name}", timeout = 60 }}
env = ["QS_PASSWORD"]
allow = {{ read = ["stack"], containers = ["{name}-*"]{allow} }}

[tasks.status]
plugin = "quickstart"
config = {{ file = "stack/compose.yaml", project = "{name}", mode = "status" }}
allow = {{ read = ["stack"], containers = ["{name}-*"] }}

[tasks.down]
plugin = "quickstart"
config = {{ file = "stack/compose.yaml", project = "{name}", mode = "down" }}
allow = {{ read = ["stack"], containers = ["{name}-*"], networks = ["{name}-*"], volumes = ["{name}-*"] }}
"#
        );
        let test = Test::new()
            .tasks(&tasks)
            .file("stack/compose.yaml", &compose.replace("PROJECT", &name))
            .file("stack/html/index.html", "hello from the stack\n");
        Project { name, test }
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        self.test.invoke_env(env, args)
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}", self.name)
    }

    fn exists(&self, service: &str) -> bool {
        docker_output(&["inspect", &self.container(service)])
            .status
            .success()
    }

    fn id(&self, service: &str) -> String {
        docker(&["inspect", "-f", "{{.Id}}", &self.container(service)])
            .trim()
            .to_owned()
    }

    fn networks(&self) -> Vec<String> {
        let filter = format!("name={}-", self.name);
        docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &filter,
            "--format",
            "{{.Name}}",
        ])
        .split_whitespace()
        .map(str::to_owned)
        .collect()
    }

    fn volumes(&self) -> Vec<String> {
        let filter = format!("name={}-", self.name);
        docker(&["volume", "ls", "-q", "--filter", &filter])
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// PostgreSQL, a job that needs it healthy, and a web server that needs the
/// job done; each readiness kind once (healthcheck, completion, HTTP 2xx).
fn full_stack(db_port: u16, web_port: u16) -> String {
    format!(
        r#"
services:
  web:
    image: {BUSYBOX}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["127.0.0.1:{web_port}:8080"]
    volumes: ["./html:/www:ro"]
    depends_on:
      init: {{ condition: service_completed_successfully }}
    x-run:
      ready: {{ http: "http://127.0.0.1:{web_port}/" }}
  init:
    image: {POSTGRES}
    entrypoint: ["sh", "-c"]
    command: ["psql -h db -U postgres -c 'CREATE TABLE ready(ok int)'"]
    environment:
      PGPASSWORD: ${{QS_PASSWORD}}
    restart: "no"
    depends_on:
      db: {{ condition: service_healthy }}
  db:
    image: {POSTGRES}
    environment:
      POSTGRES_PASSWORD: ${{QS_PASSWORD}}
    ports: ["127.0.0.1:{db_port}:5432"]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"]
      interval: 1s
      retries: 60
volumes:
  pgdata:
"#
    )
}

fn full_grants(db_port: u16, web_port: u16) -> String {
    format!(
        r#"images = ["run-test/*"], networks = ["PROJECT-*"], volumes = ["PROJECT-*"], ports = ["{db_port}", "{web_port}"], network = ["127.0.0.1:{web_port}"]"#
    )
}

const PASSWORD: (&str, &str) = ("QS_PASSWORD", "s3cret");

#[test]
fn a_stack_comes_up_in_order_shows_its_urls_and_a_second_run_changes_nothing() {
    let (db_port, web_port) = (free_port(), free_port());
    let project = Project::new(
        &full_stack(db_port, web_port),
        &full_grants(db_port, web_port),
    );

    let up = project.run(&[PASSWORD], &["up"]).status(0);
    // Dependencies are met before dependents start, and readiness is reached in order.
    assert!(
        up.stderr_at("db: healthy") < up.stderr_at("init: created and started"),
        "{}",
        up.context()
    );
    assert!(
        up.stderr_at("init: completed") < up.stderr_at("web: created and started"),
        "{}",
        up.context()
    );
    assert!(up.stderr_at("db: ready (healthy)") < up.stderr_at("init: ready (completed)"));
    assert!(up.stderr_at("init: ready (completed)") < up.stderr_at("web: ready (http 2xx)"));
    let up = up
        .stdout_contains("SERVICE")
        .stdout_contains(&format!("postgresql://127.0.0.1:{db_port}"))
        .stdout_contains(&format!("http://127.0.0.1:{web_port}"));
    let table: Vec<&str> = up.stdout.lines().collect();
    assert_eq!(table.len(), 4, "{}", up.context());
    assert!(
        table[1].starts_with("db ") && table[1].contains("running") && table[1].contains("healthy")
    );
    assert!(
        table[2].starts_with("init ")
            && table[2].contains("exited (0)")
            && table[2].contains("completed")
    );
    assert!(table[3].starts_with("web ") && table[3].contains("running"));
    assert!(http_get(web_port).contains("hello from the stack"));
    // The one-shot job really ran against the database.
    let tables = docker(&[
        "exec",
        &project.container("db"),
        "psql",
        "-U",
        "postgres",
        "-tAc",
        "SELECT count(*) FROM pg_tables WHERE tablename = 'ready'",
    ]);
    assert_eq!(tables.trim(), "1");

    let ids: Vec<String> = ["db", "init", "web"]
        .iter()
        .map(|s| project.id(s))
        .collect();
    project
        .run(&[PASSWORD], &["up"])
        .status(0)
        .stderr_contains("db: up to date")
        .stderr_contains("init: already completed")
        .stderr_contains("web: up to date");
    let again: Vec<String> = ["db", "init", "web"]
        .iter()
        .map(|s| project.id(s))
        .collect();
    assert_eq!(ids, again, "a second run must leave the containers alone");

    project
        .run(&[], &["status"])
        .status(0)
        .stdout_contains("healthy")
        .stdout_contains("completed")
        .stdout_contains(&format!("http://127.0.0.1:{web_port}"));

    // Issue 15: `down --volumes` removed containers and networks, then
    // failed on its question under CI; it now asks before anything goes.
    project
        .run(&[("CI", "true")], &["down", "--volumes"])
        .status(1)
        .stderr_contains("no one can answer here");
    assert!(
        project.exists("db") && project.exists("web") && !project.networks().is_empty(),
        "nothing is removed before the answer"
    );

    // down keeps the data unless asked, and asking needs a confirmation.
    project
        .run(&[], &["down"])
        .status(0)
        .stdout_contains(&format!("removed container {}", project.container("web")))
        .stdout_contains(&format!("removed network {}-default", project.name))
        .stdout_contains(&format!("kept volume {}-pgdata", project.name));
    assert!(!project.exists("db") && !project.exists("web") && !project.exists("init"));
    assert!(project.networks().is_empty());
    assert_eq!(project.volumes(), [format!("{}-pgdata", project.name)]);

    project
        .run(&[("CI", "true")], &["down", "--volumes"])
        .status(1)
        .stderr_contains("no one can answer here");
    assert_eq!(project.volumes().len(), 1, "no confirmation, no removal");
    project
        .run(&[], &["--yes", "down", "--volumes"])
        .status(0)
        .stdout_contains(&format!("removed volume {}-pgdata", project.name));
    assert!(project.volumes().is_empty());
}

#[test]
fn a_failing_healthcheck_stops_at_once_and_shows_its_health_log() {
    let compose = format!(
        r#"
services:
  sick:
    image: {BUSYBOX}
    command: ["sh", "-c", "echo sick service starting; sleep 600"]
    healthcheck:
      test: ["CMD-SHELL", "echo probe-says-no; exit 1"]
      interval: 1s
      retries: 2
  after:
    image: {BUSYBOX}
    command: ["sleep", "600"]
    depends_on:
      sick: {{ condition: service_healthy }}
"#
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project
        .run(&[], &["up"])
        .status(1)
        .stderr_contains(&format!(
            "service `sick` (container `{}`) is unhealthy",
            project.container("sick")
        ))
        .stderr_contains("last health checks:")
        .stderr_contains("exit 1: probe-says-no")
        .stderr_contains("sick service starting");
    assert!(!project.exists("after"), "nothing starts after a failure");
}

#[test]
fn a_port_already_taken_is_a_prerequisite_that_says_what_to_do() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let compose = format!(
        "services:\n  web:\n    image: {BUSYBOX}\n    command: [\"httpd\", \"-f\", \"-p\", \"80\"]\n    ports: [\"127.0.0.1:{port}:80\"]\n"
    );
    let project = Project::new(
        &compose,
        &format!(r#"images = ["run-test/*"], networks = ["PROJECT-*"], ports = ["{port}"]"#),
    );
    project
        .run(&[], &["up"])
        .status(3)
        .stderr_contains("prerequisite not met (nothing was changed)")
        .stderr_contains(&format!(
            "port {port} on 127.0.0.1 (service `web`) is already in use"
        ))
        .stderr_contains("ss -ltnp");
    assert!(!project.exists("web"));
    assert!(project.networks().is_empty(), "nothing was created");
    drop(taken);
}

#[test]
fn an_image_that_cannot_be_pulled_fails_clearly() {
    let compose = "services:\n  ghost:\n    image: run-test-qs/no-such-image:1\n";
    let project = Project::new(
        compose,
        r#"images = ["run-test-qs/*"], networks = ["PROJECT-*"]"#,
    );
    let out = project
        .run(&[], &["up"])
        .status(1)
        .stderr_contains("pulling run-test-qs/no-such-image:1 (service `ghost`)")
        .stderr_contains("service `ghost`: cannot pull image `run-test-qs/no-such-image:1`");
    assert!(
        out.stderr
            .contains("the registry cannot be reached (offline?)")
            || out.stderr.contains("the registry has no such image"),
        "{}",
        out.context()
    );
    assert!(!project.exists("ghost"));
}

#[test]
fn what_a_stack_needs_is_denied_unless_granted() {
    let port = free_port();
    let compose = format!(
        "services:\n  web:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n    ports: [\"127.0.0.1:{port}:80\"]\n    volumes: [\"data:/data\"]\nvolumes:\n  data:\n"
    );
    let all = format!(
        r#"images = ["run-test/*"], networks = ["PROJECT-*"], volumes = ["PROJECT-*"], ports = ["{port}"]"#
    );
    // Each grant left out in turn: the call that needs it is refused, naming it.
    let cases: Vec<(String, String)> = vec![
        (
            r#"images = ["run-test/*"], "#.into(),
            "image `run-test/busybox:latest` is not granted to task `up` (allow.images grants none); add to the task in tasks.toml: allow = { images = [\"run-test/busybox:latest\"] }".into(),
        ),
        (
            r#"networks = ["PROJECT-*"], "#.into(),
            "network `PROJECT-default` is not granted to task `up` (allow.networks grants none); add to the task in tasks.toml: allow = { networks = [\"PROJECT-default\"] }".into(),
        ),
        (
            r#"volumes = ["PROJECT-*"], "#.into(),
            "volume `PROJECT-data` is not granted to task `up` (allow.volumes grants none); add to the task in tasks.toml: allow = { volumes = [\"PROJECT-data\"] }".into(),
        ),
        (
            format!(r#", ports = ["{port}"]"#),
            format!("host port `{port}` is not granted to task `up` (allow.ports grants none); add to the task in tasks.toml: allow = {{ ports = [\"{port}\"] }}"),
        ),
    ];
    for (left_out, denial) in cases {
        let project = Project::new(&compose, &all.replace(&left_out, ""));
        project
            .run(&[], &["up"])
            .status(1)
            .stderr_contains(&denial.replace("PROJECT", &project.name));
        assert!(!project.exists("web"));
    }
    // A bind mount outside the task's file grants is refused too.
    let compose = format!(
        "services:\n  web:\n    image: {BUSYBOX}\n    volumes: [\"../secrets:/secrets\"]\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    std::fs::create_dir_all(project.test.path("secrets")).unwrap();
    project
        .run(&[], &["up"])
        .status(1)
        .stderr_contains("denied: service `web`: file `secrets` is not granted to task `up` (allow.write grants none); add to the task in tasks.toml: allow = { write = [\"secrets\"] }");
    assert!(!project.exists("web"));
    // A host path outside the project is refused the same way, under --plan too.
    let compose =
        format!("services:\n  web:\n    image: {BUSYBOX}\n    volumes: [\"/etc:/host-etc:ro\"]\n");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    for args in [&["--plan", "up"][..], &["up"]] {
        project
            .run(&[], args)
            .status(1)
            .stderr_contains("denied: service `web`: file `/etc` is not granted to task `up` (allow.read grants stack); add to the task in tasks.toml: allow = { read = [\"/etc\"] }");
    }
    assert!(!project.exists("web"));
    assert!(
        project.networks().is_empty(),
        "every service is checked before anything is created"
    );
}

/// Issue 15: a typo was "unsupported, ignore it"; a `build` error hid every
/// other problem; `restart: sometimes` was found after part of the stack had
/// started. Now every problem is listed at once and nothing starts.
#[test]
fn every_problem_of_a_file_is_reported_at_once_before_anything_runs() {
    let compose = format!(
        "services:\n  ok:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n  web:\n    image: {BUSYBOX}\n    comand: [\"httpd\"]\n    enviroment: {{A: \"1\"}}\n    restart: sometimes\n    logging: {{driver: syslog}}\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project
        .run(&[], &["up"])
        .status(1)
        .stderr_contains("stack/compose.yaml: 4 problems:")
        .stderr_contains("  - services.web.comand: unknown key; did you mean `command`?")
        .stderr_contains("  - services.web.enviroment: unknown key; did you mean `environment`?")
        .stderr_contains("  - services.web.restart: restart policy `sometimes`: use no, always, on-failure[:N] or unless-stopped")
        .stderr_contains("  - services.web.logging (the engine's default log driver is used): not supported");
    assert!(!project.exists("ok") && !project.exists("web"));
    // (`build:` was refused here as unsupported; it is built now:
    // tests/quickstart_build.rs.)
}

/// Issue 15: `--plan` said "would start" for files that could not; it now
/// checks the variables and every grant a real run checks.
#[test]
fn the_plan_runs_every_check_a_real_run_does() {
    let compose = format!(
        "services:\n  web:\n    image: {BUSYBOX}\n    cap_add: [NET_ADMIN]\n    environment:\n      TOKEN: ${{QS_PASSWORD:?the API token}}\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project
        .run(&[], &["--plan", "up"])
        .status(3)
        .stderr_contains("stack/compose.yaml uses ${QS_PASSWORD}, which is not set (the API token)")
        .stderr_contains("env = [\"QS_PASSWORD\"]");
    project
        .run(&[PASSWORD], &["--plan", "up"])
        .status(1)
        .stderr_contains(
            "denied: service `web`: capability `NET_ADMIN` is not granted to task `up`",
        )
        .stderr_contains("allow = { cap-add = [\"NET_ADMIN\"] }");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"], cap-add = ["NET_ADMIN"]"#,
    );
    project
        .run(&[PASSWORD], &["--plan", "up"])
        .status(0)
        .stdout_contains(&format!("would start project {}", project.name));
    assert!(!project.exists("web"), "a plan creates nothing");
    assert!(project.networks().is_empty(), "a plan creates nothing");

    // The prerequisites too: a host port already taken.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let compose =
        format!("services:\n  web:\n    image: {BUSYBOX}\n    ports: [\"127.0.0.1:{port}:80\"]\n");
    let project = Project::new(
        &compose,
        &format!(r#"images = ["run-test/*"], networks = ["PROJECT-*"], ports = ["{port}"]"#),
    );
    project
        .run(&[], &["--plan", "up"])
        .status(3)
        .stderr_contains(&format!(
            "port {port} on 127.0.0.1 (service `web`) is already in use"
        ));
    drop(taken);
}

/// Issue 15: the project's `.env` was ignored, `env_file` unsupported, and
/// every task needed `config.project`: the directory names the project, as
/// under Compose.
#[test]
fn dotenv_env_file_and_the_directory_name_make_the_project() {
    images::ensure();
    let name = unique_name("run-test-qs");
    let tasks = format!(
        r#"[tasks.up]
plugin = "quickstart"
config = {{ file = "{name}/compose.yaml", timeout = 60 }}
allow = {{ read = ["{name}"], containers = ["{name}-*"], images = ["run-test/*"], networks = ["{name}-*"] }}

[tasks.down]
plugin = "quickstart"
config = {{ file = "{name}/compose.yaml", mode = "down" }}
allow = {{ read = ["{name}"], containers = ["{name}-*"], networks = ["{name}-*"] }}
"#
    );
    let compose = format!(
        "services:\n  app:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n    env_file: [app.env, {{path: local.env, required: false}}]\n    environment:\n      FROM_DOTENV: ${{QS_DOTENV}}\n      CHAIN: ${{QS_CHAIN}}\n      OVERRIDDEN: by-environment\n"
    );
    let test = Test::new()
        .tasks(&tasks)
        .file(&format!("{name}/compose.yaml"), &compose)
        .file(
            &format!("{name}/.env"),
            "# the project's variables\nQS_DOTENV=\"from .env\"\nQS_CHAIN=\"${QS_DOTENV}, chained\"\n",
        )
        .file(
            &format!("{name}/app.env"),
            "FROM_ENV_FILE=yes\nOVERRIDDEN=by-env-file\n",
        );
    let project = Project {
        name: name.clone(),
        test,
    };
    project.run(&[], &["up"]).status(0);
    let env = docker(&[
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        &format!("{name}-app"),
    ]);
    for want in [
        "FROM_DOTENV=from .env",
        "CHAIN=from .env, chained",
        "FROM_ENV_FILE=yes",
        "OVERRIDDEN=by-environment",
    ] {
        assert!(env.contains(want), "{want} in {env}");
    }
    project.run(&[], &["down"]).status(0);
    assert!(!project.exists("app"));
}

/// Issue 15: `down` and a recreate killed PostgreSQL outright ("not properly
/// shut down; automatic recovery"); they now stop as Compose does, with the
/// service's stop signal and grace period, so the next start finds a clean
/// shutdown.
#[test]
fn postgres_is_shut_down_cleanly_by_a_recreate_and_by_down() {
    let compose = |marker: &str| {
        format!(
            r#"
services:
  db:
    image: {POSTGRES}
    environment:
      POSTGRES_PASSWORD: ${{QS_PASSWORD}}
      MARKER: "{marker}"
    volumes: ["pgdata:/var/lib/postgresql/data"]
    stop_signal: SIGINT
    stop_grace_period: 30s
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"]
      interval: 1s
      retries: 60
volumes:
  pgdata:
"#
        )
    };
    let project = Project::new(
        &compose("one"),
        r#"images = ["run-test/*"], networks = ["PROJECT-*"], volumes = ["PROJECT-*"]"#,
    );
    project.run(&[PASSWORD], &["up"]).status(0);
    let stop_signal = docker(&[
        "inspect",
        "-f",
        "{{.Config.StopSignal}} {{.Config.StopTimeout}}",
        &project.container("db"),
    ]);
    // Podman's inspect gives the signal's number.
    assert!(
        matches!(stop_signal.trim(), "SIGINT 30" | "2 30"),
        "{stop_signal}"
    );
    // A changed definition: the old container is stopped, then replaced.
    std::fs::write(project.test.path("stack/compose.yaml"), compose("two")).unwrap();
    project
        .run(&[PASSWORD], &["up"])
        .status(0)
        .stderr_contains("db: its definition changed; recreating");
    let logs = docker_logs(&project.container("db"));
    assert!(logs.contains("database system was shut down at"), "{logs}");
    assert!(!logs.contains("not properly shut down"), "{logs}");
    // `down`, then up again on the same data.
    project.run(&[], &["down"]).status(0);
    project.run(&[PASSWORD], &["up"]).status(0);
    let logs = docker_logs(&project.container("db"));
    assert!(logs.contains("database system was shut down at"), "{logs}");
    assert!(!logs.contains("not properly shut down"), "{logs}");
}

fn docker_logs(container: &str) -> String {
    let out = docker_output(&["logs", container]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Issue 15: three services that each take seconds to be healthy started
/// one after another; independent services now start together and each
/// waits only for its own dependencies.
#[test]
fn independent_services_start_together() {
    let slow = |name: &str| {
        format!(
            "  {name}:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"sleep 4; touch /tmp/ok; sleep 600\"]\n    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"]\n      interval: 500ms\n      retries: 60\n"
        )
    };
    let compose = format!(
        "services:\n{}{}{}  last:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n    depends_on:\n      a: {{condition: service_healthy}}\n      b: {{condition: service_healthy}}\n      c: {{condition: service_healthy}}\n",
        slow("a"),
        slow("b"),
        slow("c")
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    let up = project.run(&[], &["up"]).status(0);
    // Event order, not wall time (which a loaded machine stretches: 14.9 s
    // at load 20): each service was started before any became healthy, so
    // the three waited for their health at the same time.
    for service in ["a", "b", "c"] {
        assert!(
            up.stderr_at(&format!("{service}: created and started")) < up.stderr_at("a: healthy"),
            "{service} starts before any is healthy{}",
            up.context()
        );
    }
    assert!(up.stderr_at("c: healthy") < up.stderr_at("last: created and started"));
}

/// Issue 15: an image changed under the same tag was never picked up ("up to
/// date"); the container is recreated from the new image.
#[test]
fn an_image_changed_under_its_tag_is_picked_up() {
    images::ensure();
    let tag = format!("run-test/{}:1", unique_name("qs-retag"));
    docker(&["tag", BUSYBOX, &tag]);
    let compose =
        format!("services:\n  worker:\n    image: {tag}\n    command: [\"sleep\", \"600\"]\n");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project.run(&[], &["up"]).status(0);
    let before = project.id("worker");
    project
        .run(&[], &["up"])
        .status(0)
        .stderr_contains("worker: up to date");
    // A new image under the same tag, as a rebuild makes it (`docker build`:
    // Podman's API fails `docker commit --change` with "Decode(): EOF").
    let mut build = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = build.stdin.take().unwrap();
        write!(stdin, "FROM {BUSYBOX}\nLABEL rebuilt=yes\n").unwrap();
    }
    let built = build.wait_with_output().unwrap();
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    project
        .run(&[], &["up"])
        .status(0)
        .stderr_contains(&format!("worker: image {tag} changed"));
    assert_ne!(project.id("worker"), before);
    let label = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"rebuilt\"}}",
        &project.container("worker"),
    ]);
    assert_eq!(label.trim(), "yes");
    drop(project);
    let _ = docker_output(&["rmi", "-f", &tag]);
}

/// Issue 15: `docker compose ps` showed nothing of quickstart's stacks; the
/// containers now carry the labels Compose sets.
#[test]
fn compose_sees_the_stack_by_its_labels() {
    let compose =
        format!("services:\n  worker:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project.run(&[], &["up"]).status(0);
    let labels = docker(&[
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        &project.container("worker"),
    ]);
    let labels: serde_json::Value = serde_json::from_str(labels.trim()).unwrap();
    assert_eq!(labels["com.docker.compose.project"], project.name.as_str());
    assert_eq!(labels["com.docker.compose.service"], "worker");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert!(labels["com.docker.compose.config-hash"].is_string());
    let network = docker(&[
        "network",
        "inspect",
        "-f",
        "{{json .Labels}}",
        &format!("{}-default", project.name),
    ]);
    assert!(
        network.contains(r#""com.docker.compose.network":"default""#),
        "{network}"
    );
    // Compose itself lists the container (docker-compose v1 from Debian here).
    let ps = std::process::Command::new("docker-compose")
        .args(["-p", &project.name, "-f"])
        .arg(project.test.path("stack/compose.yaml"))
        .args(["ps", "-q"])
        .output()
        .expect("docker-compose is installed (Debian's package)");
    let id = project.id("worker");
    assert!(String::from_utf8_lossy(&ps.stdout).contains(&id), "{ps:?}");
}

#[test]
fn a_changed_service_is_recreated_and_status_shows_what_is_not_created() {
    let compose =
        format!("services:\n  worker:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project
        .run(&[], &["status"])
        .status(0)
        .stdout_contains("not created");
    project
        .run(&[], &["up"])
        .status(0)
        .stdout_contains("running");
    let before = project.id("worker");
    project
        .run(&[], &["up"])
        .status(0)
        .stderr_contains("worker: up to date");
    assert_eq!(project.id("worker"), before);

    let changed = compose.replace("\"600\"", "\"900\"");
    std::fs::write(project.test.path("stack/compose.yaml"), changed).unwrap();
    project
        .run(&[], &["up"])
        .status(0)
        .stderr_contains(&format!(
            "worker: its definition changed; recreating {}",
            project.container("worker")
        ));
    assert_ne!(
        project.id("worker"),
        before,
        "a changed service is recreated"
    );
    let command = docker(&[
        "inspect",
        "-f",
        "{{json .Config.Cmd}}",
        &project.container("worker"),
    ]);
    assert_eq!(command.trim(), r#"["sleep","900"]"#);

    // A container of the same name that is not the project's is never touched.
    let stranger = format!("{}-stranger", project.name);
    docker(&[
        "run",
        "-d",
        "--name",
        &stranger,
        "--label",
        "run-test=1",
        BUSYBOX,
        "sleep",
        "600",
    ]);
    let compose = format!("services:\n  stranger:\n    image: {BUSYBOX}\n");
    std::fs::write(project.test.path("stack/compose.yaml"), compose).unwrap();
    project
        .run(&[], &["up"])
        .status(1)
        .stderr_contains(&format!(
            "container `{}` belongs to project `{}` but to no service of the file",
            project.container("worker"),
            project.name
        ))
        .stderr_contains(&format!(
            "container `{stranger}` exists but does not belong to project `{}`",
            project.name
        ));
    // The worker is no longer in the file: `up` names it, `down` removes it.
    project
        .run(&[], &["down"])
        .status(0)
        .stderr_contains(&format!("left `{stranger}` alone"))
        .stdout_contains(&format!(
            "removed orphan container {}",
            project.container("worker")
        ))
        .stdout_contains(&format!("removed network {}-default", project.name));
    assert!(docker_output(&["inspect", &stranger]).status.success());
    let _ = docker_output(&["rm", "-f", &stranger]);
}

/// Issue 15: `deploy.replicas: 2` was refused ("one container per service").
/// Now each replica is a container named as Compose names it, labelled with
/// its number, waited for until healthy; scaling down removes the extra one,
/// and `down` removes them all.
#[test]
fn replicas_run_one_container_each_named_and_numbered_as_compose_does() {
    let compose = format!(
        r#"services:
  worker:
    image: {BUSYBOX}
    command: ["sleep", "600"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    deploy:
      replicas: 2
"#
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    let up = project.run(&[], &["up"]).status(0);
    let (one, two) = (
        format!("{}-worker-1", project.name),
        format!("{}-worker-2", project.name),
    );
    for name in [&one, &two] {
        assert!(
            up.stderr
                .contains(&format!("worker: created and started {name}"))
                && up.stdout.contains(name.as_str()),
            "{name}{}",
            up.context()
        );
    }
    assert_eq!(
        up.stderr.matches("worker: ready (healthy)").count(),
        2,
        "each replica is waited for{}",
        up.context()
    );
    let filter = format!("label=com.docker.compose.project={}", project.name);
    let ps = docker(&[
        "ps",
        "--filter",
        &filter,
        "--filter",
        "label=com.docker.compose.service=worker",
        "--format",
        r#"{{.Names}} {{.Label "com.docker.compose.container-number"}} {{.Status}}"#,
    ]);
    let mut rows: Vec<&str> = ps.lines().collect();
    rows.sort();
    assert_eq!(rows.len(), 2, "{ps}");
    assert!(rows[0].starts_with(&format!("{one} 1 Up")), "{ps}");
    assert!(rows[1].starts_with(&format!("{two} 2 Up")), "{ps}");
    // Health from inspect: Podman's `ps` status has no "(healthy)".
    for name in [&one, &two] {
        let health = docker(&["inspect", "-f", "{{.State.Health.Status}}", name]);
        assert_eq!(health.trim(), "healthy", "{name}: {ps}");
    }
    project
        .run(&[], &["up"])
        .status(0)
        .stderr_contains("worker: up to date");

    // Scaled down: the second replica goes, gracefully, as under Compose.
    let three = compose.replace("replicas: 2", "replicas: 1\n    scale: 1");
    std::fs::write(project.test.path("stack/compose.yaml"), &three).unwrap();
    let down_to_one = project.run(&[], &["up"]).status(0);
    down_to_one.stderr_contains(&format!(
        "worker: removed {one} (the service runs 1 container now)"
    ));
    assert!(!docker_output(&["inspect", &two]).status.success());
    assert!(project.exists("worker"));

    std::fs::write(project.test.path("stack/compose.yaml"), &compose).unwrap();
    project.run(&[], &["up"]).status(0);
    project
        .run(&[], &["down"])
        .status(0)
        .stdout_contains(&format!("removed container {one}"))
        .stdout_contains(&format!("removed container {two}"));
    let left = docker(&["ps", "-aq", "--filter", &filter]);
    assert!(left.trim().is_empty(), "down removes every replica: {left}");
}

/// Issue 15: a local volume with `driver_opts` (`type: none, o: bind,
/// device: DIR`) was refused. It is a bind of DIR in disguise, so it needs
/// what a bind needs: without `allow.write` on DIR the task is refused
/// naming it; with it, the container writes into DIR on the host.
#[test]
fn a_bind_volume_in_disguise_needs_the_grant_a_bind_needs() {
    let compose = format!(
        r#"services:
  writer:
    image: {BUSYBOX}
    command: ["sh", "-c", "echo written > /data/out.txt && sleep 600"]
    volumes: ["shared:/data"]
volumes:
  shared:
    driver: local
    driver_opts: {{ type: none, o: bind, device: ./shared }}
"#
    );
    let grants = r#"images = ["run-test/*"], networks = ["PROJECT-*"], volumes = ["PROJECT-*"]"#;
    let refused = Project::new(&compose, grants);
    std::fs::create_dir_all(refused.test.path("stack/shared")).unwrap();
    for args in [&["--plan", "up"][..], &["up"]] {
        refused
            .run(&[], args)
            .status(1)
            .stderr_contains("service `writer`")
            .stderr_contains(
                r#"add to the task in tasks.toml: allow = { write = ["stack/shared"] }"#,
            );
    }
    assert!(!refused.exists("writer"), "nothing was created");

    let granted = Project::new(&compose, &format!(r#"{grants}, write = ["stack/shared"]"#));
    std::fs::create_dir_all(granted.test.path("stack/shared")).unwrap();
    images::give_to_engine_user(&granted.test.path("stack/shared"));
    // `--plan` makes write grants read-only, yet a bind a real run would
    // write is planned when a write grant covers it.
    granted
        .run(&[], &["--plan", "up"])
        .status(0)
        .stdout_contains("would start project");
    granted.run(&[], &["up"]).status(0);
    let out = granted.test.path("stack/shared/out.txt");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !out.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "written\n");
    assert!(
        granted.volumes().is_empty(),
        "no engine volume stands in for the directory: {:?}",
        granted.volumes()
    );
    granted.run(&[], &["down"]).status(0);
    assert!(out.exists(), "down leaves the directory's files");
}

/// Issue 15: `extends` was refused. A service extending one of another file
/// is that service with its own keys over it; the other file is read through
/// the task's read grant (outside it, the refusal names the grant), and its
/// relative paths are from its own directory, as under Compose.
#[test]
fn extends_reads_another_file_through_the_read_grant_with_its_own_paths() {
    images::ensure();
    let name = unique_name("run-test-qs");
    let compose = "services:\n  app:\n    extends: { file: ../common/base.yaml, service: base }\n    command: [\"sleep\", \"5\"]\n";
    let base = format!(
        "services:\n  base:\n    image: {BUSYBOX}\n    command: [\"true\"]\n    volumes: [\"./conf:/etc/conf:ro\"]\n"
    );
    let task = |read: &str| {
        format!(
            "plugin = \"quickstart\"\nconfig = {{ file = \"stack/compose.yaml\", project = \"{name}\" }}\nallow = {{ read = [{read}], containers = [\"{name}-*\"], images = [\"run-test/*\"], networks = [\"{name}-*\"] }}\n"
        )
    };
    let test = Test::new()
        .tasks(&format!(
            "[tasks.narrow]\n{}\n[tasks.wide]\n{}",
            task(r#""stack""#),
            task(r#""stack", "common""#)
        ))
        .file("stack/compose.yaml", compose)
        .file("common/base.yaml", &base)
        .file("common/conf/app.conf", "x=1\n");
    test.invoke(&["--plan", "narrow"])
        .status(1)
        .stderr_contains("services.app.extends: `../common/base.yaml` cannot be read")
        .stderr_contains(r#"allow = { read = ["common"] }"#);
    let plan = test.invoke(&["--plan", "wide"]).status(0);
    plan.stdout_contains(&format!("app ({BUSYBOX}) as {name}-app"));
    // The bind is `common/conf` (from base.yaml's directory), granted by
    // `common`; the command is the extending service's.
    std::fs::remove_dir_all(test.path("common/conf")).unwrap();
    test.invoke(&["--plan", "wide"])
        .status(1)
        .stderr_contains("common/conf");
}

/// A subnet for this test run alone (other sessions share the engine).
fn test_subnet() -> String {
    format!("172.29.{}.0/24", 20 + std::process::id() % 200)
}

/// Issue 15: `sysctls`, `runtime`, `ipam` with a fixed `ipv4_address` and
/// `mac_address` were refused as unsupported. Now each reaches the engine,
/// a sysctl beyond the safe ones only through `allow.sysctls`.
#[test]
fn sysctls_a_runtime_and_fixed_addresses_reach_the_engine() {
    let subnet = test_subnet();
    let prefix = subnet.trim_end_matches("0/24");
    let compose = format!(
        r#"services:
  dns:
    image: {BUSYBOX}
    command: ["sleep", "600"]
    sysctls: {{ net.ipv4.tcp_syncookies: 0, net.core.somaxconn: 1024 }}
    runtime: runc
    networks:
      front: {{ ipv4_address: {prefix}5 }}
networks:
  front:
    ipam: {{ config: [{{ subnet: {subnet}, gateway: {prefix}1 }}] }}
"#
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project
        .run(&[], &["--plan", "up"])
        .status(1)
        .stderr_contains("kernel parameter `net.core.somaxconn` is not granted to task `up`")
        .stderr_contains("allow = { sysctls = [\"net.core.somaxconn\"] }");
    assert!(project.networks().is_empty(), "a plan creates nothing");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"], sysctls = ["net.core.somaxconn"]"#,
    );
    project
        .run(&[], &["--plan", "up"])
        .status(0)
        .stdout_contains(&format!("would start project {}", project.name));
    project.run(&[], &["up"]).status(0);
    let dns = project.container("dns");
    let read = |path: &str| docker(&["exec", &dns, "cat", path]).trim().to_owned();
    assert_eq!(read("/proc/sys/net/core/somaxconn"), "1024");
    assert_eq!(read("/proc/sys/net/ipv4/tcp_syncookies"), "0");
    let network = format!("{}-front", project.name);
    let endpoint = |field: &str| {
        docker(&[
            "inspect",
            "-f",
            &format!("{{{{(index .NetworkSettings.Networks \"{network}\").{field}}}}}"),
            &dns,
        ])
        .trim()
        .to_owned()
    };
    assert_eq!(endpoint("IPAddress"), format!("{prefix}5"));
    // Podman's Docker-compatible inspect names every container's runtime
    // `oci`, whichever it runs; the sysctls above show the spec applied.
    let runtime = docker(&["inspect", "-f", "{{.HostConfig.Runtime}}", &dns]);
    let expected = if images::engine_is_podman() {
        "oci"
    } else {
        "runc"
    };
    assert_eq!(runtime.trim(), expected);
    assert_eq!(
        docker(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}",
            &network
        ])
        .trim(),
        format!("{subnet} {prefix}1")
    );
    project
        .run(&[], &["up"])
        .status(0)
        .stderr_contains("dns: up to date");
}

/// What the engine or the sandbox cannot honour is refused by `--plan` as
/// by `up`, before anything is created, each saying why: a kernel parameter
/// that is not namespaced, a runtime the engine lacks, a subnet over a
/// route of this machine.
#[test]
fn sysctls_runtimes_and_subnets_that_cannot_be_honoured_are_refused_before_anything_runs() {
    let compose = format!(
        "services:\n  a:\n    image: {BUSYBOX}\n    sysctls: [vm.max_map_count=262144]\n  b:\n    image: {BUSYBOX}\n    runtime: io.containerd.wasmedge.v1\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"], runtimes = ["io.containerd.wasmedge.v1"]"#,
    );
    for args in [&["--plan", "up"][..], &["up"]] {
        project
            .run(&[], args)
            .status(1)
            .stderr_contains("2 services or networks would be refused")
            .stderr_contains("kernel parameter `vm.max_map_count` is not namespaced, so setting it would change the host's kernel")
            .stderr_contains("asks for runtime `io.containerd.wasmedge.v1`, which the engine at");
        assert!(!project.exists("a") && !project.exists("b"));
    }
    // Without the grant, the runtime is a denial naming it.
    let compose =
        format!("services:\n  b:\n    image: {BUSYBOX}\n    runtime: io.containerd.wasmedge.v1\n");
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    project
        .run(&[], &["--plan", "up"])
        .status(1)
        .stderr_contains("allow = { runtimes = [\"io.containerd.wasmedge.v1\"] }");

    // A route of this machine (not an engine's bridge), if it has one.
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let lan = routes.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let engine = f[0] == "docker0"
            || f[0].starts_with("br-")
            || f[0].starts_with("cni-")
            || f[0].starts_with("veth");
        let dest = u32::from_str_radix(f[1], 16).ok()?;
        let mask = u32::from_str_radix(f[7], 16).ok()?;
        (mask != 0 && !engine).then(|| {
            (
                format!(
                    "{}/{}",
                    std::net::Ipv4Addr::from(dest.to_le_bytes()),
                    mask.count_ones()
                ),
                f[0].to_owned(),
            )
        })
    });
    let Some((route, interface)) = lan else {
        eprintln!("this machine has no route besides the default and the engines' bridges");
        return;
    };
    let compose = format!(
        "services:\n  a:\n    image: {BUSYBOX}\nnetworks:\n  default:\n    ipam: {{ config: [{{ subnet: {route} }}] }}\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    for args in [&["--plan", "up"][..], &["up"]] {
        project.run(&[], args).status(1).stderr_contains(&format!(
            "subnet {route} overlaps this machine's route to {route} (via {interface})"
        ));
    }
    assert!(project.networks().is_empty() && !project.exists("a"));
}

/// `mac_address`: set on the network by engines with API 1.44 or later;
/// an older engine would silently give another address, so it is refused
/// there, by `--plan` as by `up`, saying why.
#[test]
fn a_mac_address_is_set_or_refused_by_what_the_engine_honours() {
    let compose = format!(
        "services:\n  a:\n    image: {BUSYBOX}\n    command: [\"sleep\", \"600\"]\n    mac_address: 02:42:ac:1d:00:07\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    let api = docker(&["version", "-f", "{{.Server.APIVersion}}"]);
    let (major, minor) = api.trim().split_once('.').unwrap();
    if (major.parse::<u32>().unwrap(), minor.parse::<u32>().unwrap()) >= (1, 44) {
        project.run(&[], &["up"]).status(0);
        let mac = docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}",
            &project.container("a"),
        ]);
        assert_eq!(mac.trim(), "02:42:ac:1d:00:07");
        return;
    }
    for args in [&["--plan", "up"][..], &["up"]] {
        project.run(&[], args).status(1).stderr_contains(
            "a MAC address needs an engine with API 1.44 or later (Docker Engine 25+)",
        );
    }
    assert!(!project.exists("a") && project.networks().is_empty());
}

/// Issue 15: a key the engine cannot honour is refused naming the file, the
/// line, the service's key path and why (BuildKit-only build keys: the
/// engine's classic builder, which quickstart uses, has none of them).
#[test]
fn buildkit_only_build_keys_are_refused_with_their_line_and_why() {
    let compose = format!(
        "services:\n  ok:\n    image: {BUSYBOX}\n  app:\n    build:\n      context: .\n      ssh: [default]\n      additional_contexts:\n        base: ../base\n"
    );
    let project = Project::new(
        &compose,
        r#"images = ["run-test/*"], networks = ["PROJECT-*"]"#,
    );
    for args in [&["--plan", "up"][..], &["up"]] {
        project
            .run(&[], args)
            .status(1)
            .stderr_contains("stack/compose.yaml: unsupported Compose keys: line 7: services.app.build.ssh (a BuildKit feature: builds go through the engine's classic builder, which forwards no SSH agent or key")
            .stderr_contains("line 8: services.app.build.additional_contexts (a BuildKit feature: the engine's classic builder has one context");
    }
    assert!(!project.exists("ok") && project.networks().is_empty());
}
