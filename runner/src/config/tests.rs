//! Unit tests for the tasks.toml parser. The rendered form of each error is
//! covered by the golden files in tests/ui; these check the data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::error::{
    ActionKind, AliasOwner, DurationProblem, EnvNameProblem, ErrorKind, Expected, Found, Key,
    NameKind, NameProblem, NetworkProblem, Place, Relation, SizeProblem,
};
use super::model::{Action, EnvSpec, Grants, PluginSource};
use super::{ConfigError, TaskFile, duration, network, size};

const BUILTINS: &[&str] = &["hello"];

fn parse(source: &str) -> TaskFile {
    match super::parse(Path::new("/project/tasks.toml"), source, BUILTINS) {
        Ok(file) => file,
        Err(e) => panic!("unexpected error:\n{}", e.render(false)),
    }
}

fn error(source: &str) -> ConfigError {
    match super::parse(Path::new("/project/tasks.toml"), source, BUILTINS) {
        Ok(_) => panic!("expected an error for:\n{source}"),
        Err(e) => e,
    }
}

/// The text the error points at.
fn pointed_at<'s>(source: &'s str, error: &ConfigError) -> &'s str {
    let span = error.span().expect("error has a span");
    &source[span.start..span.end]
}

const FULL: &str = r##"
[tasks.greet]
description = "Say hello and leave a note"
group = "demo"
aliases = ["hi", "hello-world"]
plugin = "hello"
config = { name = "team", count = 3, ratio = 0.5, on = true, when = 1979-05-27T07:32:00Z, list = [1, "two"] }
depends = ["build"]
before = ["backup"]
after = ["notify"]
env = ["PGPASSWORD", "APP_*"]
timeout = "1h30m"
memory = "256MiB"
allow = { read = ["data"], write = ["out"], network = ["127.0.0.1:5432", "localhost:*", "db:8000-8010", "[::1]:80"], containers = ["pg-*"], env = ["HOME"] }

[tasks.build]
command = "cargo build"
env = { RUST_LOG = "info", CARGO_TERM_COLOR = "always" }
timeout = "10m"

[tasks.backup]
command = ["echo one", "echo two"]

[tasks.notify]
plugin = "./plugins/notify.wasm"
memory = 1048576

[tasks.notify.config]
channel = "#ops"

[tasks.notify.allow]
network = ["hooks.example.com:443"]

[tasks.all]
depends = ["hi", "build"]
"##;

#[test]
fn parses_every_key() {
    let file = parse(FULL);
    let names: Vec<_> = file.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["greet", "build", "backup", "notify", "all"],
        "file order"
    );

    let greet = &file.tasks[0];
    assert_eq!(
        greet.description.as_deref(),
        Some("Say hello and leave a note")
    );
    assert_eq!(greet.group.as_deref(), Some("demo"));
    let aliases: Vec<_> = greet.aliases.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(aliases, ["hi", "hello-world"]);
    assert_eq!(
        &FULL[greet.aliases[0].span.start..greet.aliases[0].span.end],
        "\"hi\""
    );
    let Action::Plugin { source, config } = &greet.action else {
        panic!("greet should be a plugin task: {:?}", greet.action);
    };
    assert_eq!(*source, PluginSource::Builtin("hello".into()));
    assert_eq!(
        *config,
        json!({
            "name": "team", "count": 3, "ratio": 0.5, "on": true,
            "when": "1979-05-27T07:32:00Z", "list": [1, "two"],
        })
    );
    let names = |list: &[super::Spanned<String>]| -> Vec<String> {
        list.iter().map(|s| s.value.clone()).collect()
    };
    assert_eq!(names(&greet.depends), ["build"]);
    assert_eq!(names(&greet.before), ["backup"]);
    assert_eq!(names(&greet.after), ["notify"]);
    assert_eq!(
        greet.env,
        EnvSpec {
            set: vec![],
            pass: vec!["PGPASSWORD".into(), "APP_*".into()],
        }
    );
    assert_eq!(greet.timeout, Some(Duration::from_secs(5400)));
    assert_eq!(greet.memory, Some(256 * 1024 * 1024));
    assert_eq!(
        greet.allow,
        Grants {
            read: vec!["data".into()],
            write: vec!["out".into()],
            network: vec![
                "127.0.0.1:5432".into(),
                "localhost:*".into(),
                "db:8000-8010".into(),
                "[::1]:80".into(),
            ],
            containers: crate::grant::Patterns::of(&["pg-*"]),
            env: vec!["HOME".into()],
            ..Grants::default()
        }
    );
    assert_eq!((greet.line, greet.column), (2, 8));
    assert_eq!(&FULL[greet.span.start..greet.span.end], "greet");
    assert!(greet.is_sandboxed());
}

#[test]
fn command_tasks_and_env_tables() {
    let file = parse(FULL);
    let build = file.task("build").unwrap();
    assert!(matches!(&build.action, Action::Command { lines } if lines == &["cargo build"]));
    assert_eq!(
        build.env.set,
        [
            ("RUST_LOG".to_owned(), "info".to_owned()),
            ("CARGO_TERM_COLOR".to_owned(), "always".to_owned()),
        ]
    );
    assert!(build.env.pass.is_empty());
    assert!(!build.is_sandboxed());
    let backup = file.task("backup").unwrap();
    assert!(
        matches!(&backup.action, Action::Command { lines } if lines == &["echo one", "echo two"])
    );
}

#[test]
fn sub_tables_and_plugin_paths() {
    let file = parse(FULL);
    let notify = file.task("notify").unwrap();
    let Action::Plugin { source, config } = &notify.action else {
        panic!("notify should be a plugin task");
    };
    assert_eq!(
        *source,
        PluginSource::Path(PathBuf::from("/project/plugins/notify.wasm"))
    );
    assert_eq!(*config, json!({ "channel": "#ops" }));
    assert_eq!(notify.allow.network, ["hooks.example.com:443"]);
    assert_eq!(notify.memory, Some(1_048_576));
}

#[test]
fn groups_and_aliases() {
    let file = parse(FULL);
    let all = file.task("all").unwrap();
    assert!(matches!(all.action, Action::Group));
    assert!(all.is_sandboxed());
    assert_eq!(file.task("hi").unwrap().name, "greet");
    assert_eq!(file.task("hello-world").unwrap().name, "greet");
    assert!(file.task("nope").is_none());
}

#[test]
fn plugin_config_defaults_to_an_empty_object() {
    let file = parse("[tasks.greet]\nplugin = \"hello\"\n");
    assert!(matches!(&file.tasks[0].action, Action::Plugin { config, .. } if *config == json!({})));
}

#[test]
fn plugin_paths() {
    let file = parse(
        "[tasks.a]\nplugin = \"a.wasm\"\n[tasks.b]\nplugin = \"../shared/b\"\n[tasks.c]\nplugin = \"/opt/c.wasm\"\n",
    );
    let sources: Vec<_> = file
        .tasks
        .iter()
        .map(|t| match &t.action {
            Action::Plugin { source, .. } => source.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sources,
        [
            PluginSource::Path("/project/a.wasm".into()),
            PluginSource::Path("/project/../shared/b".into()),
            PluginSource::Path("/opt/c.wasm".into()),
        ]
    );
}

#[test]
fn empty_file_has_no_tasks() {
    assert!(parse("").tasks.is_empty());
    assert!(parse("[tasks]\n").tasks.is_empty());
}

#[test]
fn inline_task_tables() {
    let file = parse("tasks = { a = { command = \"true\" }, b = { depends = [\"a\"] } }\n");
    assert_eq!(file.tasks.len(), 2);
}

#[test]
fn paths_are_absolute() {
    let file = parse("");
    assert_eq!(file.path, Path::new("/project/tasks.toml"));
    assert_eq!(file.root, Path::new("/project"));
    let relative = super::parse(Path::new("tasks.toml"), "", BUILTINS).unwrap();
    assert!(relative.path.is_absolute());
    assert_eq!(
        relative.root,
        std::env::current_dir().unwrap().canonicalize().unwrap()
    );
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("run-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir.canonicalize().unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn find_walks_up() {
    let dir = TempDir::new("find");
    let nested = dir.0.join("a/b/c");
    std::fs::create_dir_all(&nested).unwrap();
    // With no tasks.toml in the tree, the search goes on above it.
    assert_eq!(super::find(&nested), super::find(&dir.0));
    std::fs::write(dir.0.join("a/tasks.toml"), "").unwrap();
    assert_eq!(super::find(&nested), Some(dir.0.join("a/tasks.toml")));
    assert_eq!(
        super::find(&dir.0.join("a")),
        Some(dir.0.join("a/tasks.toml"))
    );
}

#[test]
fn load_reads_and_resolves() {
    let dir = TempDir::new("load");
    let path = dir.0.join("tasks.toml");
    std::fs::write(&path, "[tasks.x]\nplugin = \"x.wasm\"\n").unwrap();
    let file = super::load(&path, BUILTINS).unwrap();
    assert_eq!(file.path, path);
    assert_eq!(file.root, dir.0);
    assert!(matches!(
        &file.tasks[0].action,
        Action::Plugin { source: PluginSource::Path(p), .. } if *p == dir.0.join("x.wasm")
    ));
}

#[test]
fn load_missing_file_names_it() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("tasks.toml");
    let error = super::load(&path, BUILTINS).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Io { path: p, .. } if *p == path));
    let rendered = error.render(false);
    assert!(
        rendered.starts_with(&format!("error: cannot read `{}`: ", path.display())),
        "{rendered}"
    );
}

#[test]
fn render_colors_only_when_asked() {
    let error = error("[tasks.a]\ncomand = \"x\"\n");
    assert!(!error.render(false).contains('\x1b'));
    assert!(error.render(true).contains('\x1b'));
    assert_eq!(error.line_column(), Some((2, 1)));
}

#[test]
fn syntax_errors() {
    let source = "[tasks.a]\ncommand = \"x\n";
    let error = error(source);
    assert!(matches!(error.kind(), ErrorKind::Syntax { .. }));
    assert_eq!(error.line_column(), Some((2, 13)));
    let error = self::error("[tasks.a]\ncommand = \"x\"\ncommand = \"y\"\n");
    assert!(matches!(error.kind(), ErrorKind::DuplicateKey { key } if key == "command"));
}

#[test]
fn duplicate_tasks() {
    let source = "[tasks.a]\ncommand = \"x\"\n\n[tasks.a]\ncommand = \"y\"\n";
    let error = error(source);
    let ErrorKind::DuplicateTask { name, first } = error.kind() else {
        panic!("{error:?}");
    };
    assert_eq!(name, "a");
    assert_eq!(first.start, 7);
    assert_eq!(error.line_column(), Some((4, 8)));
}

#[test]
fn unknown_keys_suggest_close_ones() {
    let cases = [
        ("task = 1\n", "task", Place::TopLevel, Some("tasks")),
        ("whatever = 1\n", "whatever", Place::TopLevel, None),
        (
            "[tasks.a]\ndescripton = \"x\"\n",
            "descripton",
            Place::Task("a".into()),
            Some("description"),
        ),
        (
            "[tasks.a]\ndependencies = []\n",
            "dependencies",
            Place::Task("a".into()),
            Some("depends"),
        ),
        (
            "[tasks.a]\ncmd = \"x\"\n",
            "cmd",
            Place::Task("a".into()),
            Some("command"),
        ),
        (
            "[tasks.a]\nzzz = \"x\"\n",
            "zzz",
            Place::Task("a".into()),
            None,
        ),
        (
            "[tasks.a]\nplugin = \"hello\"\n[tasks.a.allow]\nwrites = []\n",
            "writes",
            Place::Allow("a".into()),
            Some("write"),
        ),
        (
            "[tasks.a]\nplugin = \"hello\"\nallow = { net = [] }\n",
            "net",
            Place::Allow("a".into()),
            Some("network"),
        ),
    ];
    for (source, key, place, suggestion) in cases {
        let error = error(source);
        assert_eq!(pointed_at(source, &error), key);
        match error.kind() {
            ErrorKind::UnknownKey {
                key: k,
                place: p,
                suggestion: s,
            } => {
                assert_eq!((k.as_str(), p, *s), (key, &place, suggestion), "{source}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn wrong_types() {
    let cases = [
        (
            "tasks = 1\n",
            "tasks",
            None,
            Expected::Table,
            Found::Integer,
        ),
        (
            "[tasks]\na = \"x\"\n",
            "tasks.a",
            None,
            Expected::Table,
            Found::String,
        ),
        (
            "[tasks.a]\ndescription = 1\n",
            "description",
            Some("a"),
            Expected::String,
            Found::Integer,
        ),
        (
            "[tasks.a]\ngroup = []\n",
            "group",
            Some("a"),
            Expected::String,
            Found::Array,
        ),
        (
            "[tasks.a]\ndepends = \"b\"\n",
            "depends",
            Some("a"),
            Expected::StringArray,
            Found::String,
        ),
        (
            "[tasks.a]\nafter = [1]\n",
            "after",
            Some("a"),
            Expected::String,
            Found::Integer,
        ),
        (
            "[tasks.a]\ncommand = 1\n",
            "command",
            Some("a"),
            Expected::StringOrStringArray,
            Found::Integer,
        ),
        (
            "[tasks.a]\ncommand = \"x\"\nenv = 1\n",
            "env",
            Some("a"),
            Expected::Env,
            Found::Integer,
        ),
        (
            "[tasks.a]\ncommand = \"x\"\nenv = { A = 1 }\n",
            "env.A",
            Some("a"),
            Expected::String,
            Found::Integer,
        ),
        (
            "[tasks.a]\ncommand = \"x\"\ntimeout = 30\n",
            "timeout",
            Some("a"),
            Expected::Duration,
            Found::Integer,
        ),
        (
            "[tasks.a]\nplugin = \"hello\"\nmemory = 1.5\n",
            "memory",
            Some("a"),
            Expected::Size,
            Found::Float,
        ),
        (
            "[tasks.a]\nplugin = \"hello\"\nconfig = [1]\n",
            "config",
            Some("a"),
            Expected::Table,
            Found::Array,
        ),
        (
            "[tasks.a]\nplugin = \"hello\"\nallow = true\n",
            "allow",
            Some("a"),
            Expected::Table,
            Found::Boolean,
        ),
        (
            "[tasks.a]\nplugin = \"hello\"\nallow = { read = \"x\" }\n",
            "allow.read",
            Some("a"),
            Expected::StringArray,
            Found::String,
        ),
        (
            "[tasks.a]\nplugin = 1979-05-27\n",
            "plugin",
            Some("a"),
            Expected::String,
            Found::Datetime,
        ),
    ];
    for (source, key, task, expected, found) in cases {
        let error = error(source);
        let want = ErrorKind::WrongType {
            key: Key {
                task: task.map(str::to_owned),
                key: key.to_owned(),
            },
            expected,
            found,
        };
        assert_eq!(
            format!("{:?}", error.kind()),
            format!("{want:?}"),
            "{source}"
        );
    }
}

#[test]
fn unknown_references() {
    let source = "[tasks.greet]\nplugin = \"hello\"\naliases = [\"hi\"]\n[tasks.all]\ndepends = [\"greet\", \"hi\", \"gret\"]\n";
    let error = error(source);
    assert_eq!(pointed_at(source, &error), "\"gret\"");
    assert!(matches!(
        error.kind(),
        ErrorKind::UnknownTask { task, relation: Relation::Depends, target, suggestion: Some(s) }
            if task == "all" && target == "gret" && s == "greet"
    ));

    let source = "[tasks.a]\ncommand = \"x\"\nafter = [\"zzz\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::UnknownTask {
            relation: Relation::After,
            suggestion: None,
            ..
        }
    ));
    // Suggestions include aliases.
    let source = "[tasks.greet]\nplugin = \"hello\"\naliases = [\"deploy-prod\"]\n[tasks.b]\nbefore = [\"deploy-prd\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::UnknownTask { relation: Relation::Before, suggestion: Some(s), .. } if s == "deploy-prod"
    ));
}

#[test]
fn cycles_name_their_path() {
    let source = "[tasks.a]\ndepends = [\"b\"]\n[tasks.b]\nbefore = [\"c\"]\n[tasks.c]\ncommand = \"x\"\nafter = [\"a\"]\n";
    let error = error(source);
    assert_eq!(pointed_at(source, &error), "\"a\"");
    let ErrorKind::Cycle { path, relation } = error.kind() else {
        panic!("{error:?}");
    };
    assert_eq!(path, &["a", "b", "c", "a"]);
    assert_eq!(*relation, Relation::After);
    assert_eq!(error.to_string(), "dependency cycle: `a` → `b` → `c` → `a`");

    // Through an alias, and a task depending on itself.
    let source = "[tasks.a]\ncommand = \"x\"\naliases = [\"x\"]\ndepends = [\"x\"]\n";
    assert!(
        matches!(self::error(source).kind(), ErrorKind::Cycle { path, .. } if path == &["a", "a"])
    );

    // A diamond is not a cycle.
    parse(
        "[tasks.a]\ndepends = [\"b\", \"c\"]\n[tasks.b]\ndepends = [\"d\"]\n[tasks.c]\ndepends = [\"d\"]\n[tasks.d]\ncommand = \"x\"\n",
    );
}

#[test]
fn the_first_cross_task_error_in_the_file_wins() {
    // The unknown reference comes before the alias clash.
    let source = "[tasks.a]\ndepends = [\"nope\"]\n[tasks.b]\ncommand = \"x\"\naliases = [\"a\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::UnknownTask { .. }
    ));
    let source = "[tasks.b]\ncommand = \"x\"\naliases = [\"a\"]\n[tasks.a]\ndepends = [\"nope\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::AliasTaken { .. }
    ));
}

#[test]
fn durations_and_sizes_must_be_positive() {
    for (source, key) in [
        ("[tasks.a]\ncommand = \"x\"\ntimeout = \"0s\"\n", "timeout"),
        (
            "[tasks.a]\ncommand = \"x\"\ntimeout = \"0h 0m\"\n",
            "timeout",
        ),
        ("[tasks.a]\nplugin = \"hello\"\nmemory = 0\n", "memory"),
        ("[tasks.a]\nplugin = \"hello\"\nmemory = -5\n", "memory"),
        (
            "[tasks.a]\nplugin = \"hello\"\nmemory = \"0MiB\"\n",
            "memory",
        ),
    ] {
        let error = error(source);
        assert!(
            matches!(error.kind(), ErrorKind::NotPositive { key: k } if k.key == key),
            "{source}: {error:?}"
        );
    }
}

#[test]
fn bad_durations_and_sizes() {
    let error = error("[tasks.a]\ncommand = \"x\"\ntimeout = \"30\"\n");
    assert!(matches!(
        error.kind(),
        ErrorKind::BadDuration { problem: DurationProblem::MissingUnit, text, .. } if text == "30"
    ));
    let error = self::error("[tasks.a]\nplugin = \"hello\"\nmemory = \"1 GB of RAM\"\n");
    assert!(matches!(
        error.kind(),
        ErrorKind::BadSize { problem: SizeProblem::UnknownUnit(u), .. } if u == "GB of RAM"
    ));
}

#[test]
fn duration_grammar() {
    let ok = [
        ("500ms", Duration::from_millis(500)),
        ("30s", Duration::from_secs(30)),
        ("5m", Duration::from_secs(300)),
        ("1h30m", Duration::from_secs(5400)),
        ("1h 30m", Duration::from_secs(5400)),
        ("2 hours", Duration::from_secs(7200)),
        (" 1d ", Duration::from_secs(86_400)),
        ("10us", Duration::from_micros(10)),
        ("10µs", Duration::from_micros(10)),
        ("7ns", Duration::from_nanos(7)),
        ("0s", Duration::ZERO),
        ("1.5s", Duration::from_millis(1500)),
    ];
    for (text, want) in ok {
        assert_eq!(duration::parse(text), Ok(want), "{text}");
    }
    let bad = [
        ("", DurationProblem::Empty),
        ("   ", DurationProblem::Empty),
        ("30", DurationProblem::MissingUnit),
        ("1h30", DurationProblem::MissingUnit),
        (
            "5 fortnights",
            DurationProblem::UnknownUnit("fortnights".into()),
        ),
        ("-5s", DurationProblem::ExpectedNumber('-')),
        ("s", DurationProblem::ExpectedNumber('s')),
        ("5s!", DurationProblem::ExpectedNumber('!')),
        ("99999999999999999999s", DurationProblem::TooLarge),
        ("18446744073709551615h", DurationProblem::TooLarge),
    ];
    for (text, want) in bad {
        assert_eq!(duration::parse(text), Err(want), "{text}");
    }
}

#[test]
fn size_grammar() {
    let ok = [
        ("1048576", 1_048_576),
        ("512MiB", 512 << 20),
        ("1GiB", 1 << 30),
        ("64MB", 64_000_000),
        ("1.5 GB", 1_500_000_000),
        ("1.5KiB", 1536),
        ("2 kib", 2048),
        ("100B", 100),
        ("1_000", 1000),
        ("1TiB", 1 << 40),
        ("0", 0),
    ];
    for (text, want) in ok {
        assert_eq!(size::parse(text), Ok(want), "{text}");
    }
    let bad = [
        ("", SizeProblem::Empty),
        ("MiB", SizeProblem::ExpectedNumber),
        (".5GB", SizeProblem::ExpectedNumber),
        ("1.2.3MB", SizeProblem::ExpectedNumber),
        ("10 M", SizeProblem::UnknownUnit("M".into())),
        ("-1", SizeProblem::ExpectedNumber),
        ("100000000TiB", SizeProblem::TooLarge),
        ("18446744073709551616", SizeProblem::TooLarge),
    ];
    for (text, want) in bad {
        assert_eq!(size::parse(text), Err(want), "{text}");
    }
}

#[test]
fn network_patterns() {
    for ok in [
        "127.0.0.1:5432",
        "localhost:*",
        "db:8000-8010",
        "[::1]:80",
        "*.example.com:443",
        "h:1-1",
    ] {
        assert_eq!(network::check(ok), Ok(()), "{ok}");
    }
    let bad = [
        ("localhost", NetworkProblem::MissingPort),
        (":80", NetworkProblem::EmptyHost),
        ("[]:80", NetworkProblem::EmptyHost),
        ("::1:80", NetworkProblem::UnbracketedIpv6),
        ("db: 80", NetworkProblem::Whitespace),
        ("db:", NetworkProblem::BadPort(String::new())),
        ("db:http", NetworkProblem::BadPort("http".into())),
        ("db:0", NetworkProblem::BadPort("0".into())),
        ("db:65536", NetworkProblem::BadPort("65536".into())),
        ("db:+80", NetworkProblem::BadPort("+80".into())),
        ("db:80-", NetworkProblem::BadPort(String::new())),
        (
            "db:90-80",
            NetworkProblem::BackwardsRange { start: 90, end: 80 },
        ),
    ];
    for (text, want) in bad {
        assert_eq!(network::check(text), Err(want), "{text}");
    }
    let source = "[tasks.a]\nplugin = \"hello\"\nallow = { network = [\"db:http\"] }\n";
    let error = error(source);
    assert_eq!(pointed_at(source, &error), "\"db:http\"");
    assert!(matches!(error.kind(), ErrorKind::BadNetwork { .. }));
}

#[test]
fn plugins() {
    let source = "[tasks.a]\nplugin = \"helo\"\n";
    let error = error(source);
    assert!(matches!(
        error.kind(),
        ErrorKind::UnknownPlugin { name, suggestion: Some(s), builtins, .. }
            if name == "helo" && s == "hello" && builtins == &["hello"]
    ));
    let source = "[tasks.a]\nplugin = \"\"\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::EmptyString { .. }
    ));
}

#[test]
fn plugin_and_command_conflict() {
    let source = "[tasks.a]\ncommand = \"x\"\nplugin = \"hello\"\n";
    let error = error(source);
    assert_eq!(pointed_at(source, &error), "plugin");
    assert!(matches!(
        error.kind(),
        ErrorKind::PluginAndCommand {
            first_key: "command",
            ..
        }
    ));
}

#[test]
fn keys_without_effect() {
    let cases = [
        (
            "[tasks.a]\ncommand = \"x\"\nallow = { read = [\"x\"] }\n",
            "allow",
            ActionKind::Command,
        ),
        (
            "[tasks.a]\ncommand = \"x\"\n[tasks.a.config]\nk = 1\n",
            "config",
            ActionKind::Command,
        ),
        (
            "[tasks.a]\ncommand = \"x\"\nmemory = \"1GiB\"\n",
            "memory",
            ActionKind::Command,
        ),
        (
            "[tasks.b]\ncommand = \"x\"\n[tasks.a]\ndepends = [\"b\"]\nenv = [\"X\"]\n",
            "env",
            ActionKind::Group,
        ),
        (
            "[tasks.b]\ncommand = \"x\"\n[tasks.a]\ndepends = [\"b\"]\ntimeout = \"1s\"\n",
            "timeout",
            ActionKind::Group,
        ),
        (
            "[tasks.b]\ncommand = \"x\"\n[tasks.a]\ndepends = [\"b\"]\n[tasks.a.allow]\n",
            "allow",
            ActionKind::Group,
        ),
    ];
    for (source, key, action) in cases {
        let error = error(source);
        assert_eq!(pointed_at(source, &error), key, "{source}");
        assert!(
            matches!(error.kind(), ErrorKind::Ineffective { key: k, action: a, .. } if *k == key && *a == action),
            "{source}: {error:?}"
        );
    }
    // Commands may have timeouts and environments.
    parse("[tasks.a]\ncommand = \"x\"\ntimeout = \"1s\"\nenv = [\"X\"]\n");
}

#[test]
fn tasks_must_do_something() {
    for source in [
        "[tasks.a]\n",
        "[tasks.a]\ndescription = \"x\"\ndepends = []\n",
    ] {
        let error = error(source);
        assert_eq!(pointed_at(source, &error), "a");
        assert!(matches!(error.kind(), ErrorKind::DoesNothing { task } if task == "a"));
    }
    let source = "[tasks.a]\ncommand = []\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::EmptyCommand { .. }
    ));
    let source = "[tasks.a]\ncommand = [\"ok\", \" \"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::EmptyString { .. }
    ));
}

#[test]
fn names() {
    for (source, what, problem) in [
        (
            "[tasks.\"a b\"]\ncommand = \"x\"\n",
            NameKind::Task,
            NameProblem::BadChar(' '),
        ),
        (
            "[tasks.\"-a\"]\ncommand = \"x\"\n",
            NameKind::Task,
            NameProblem::LeadingDash,
        ),
        (
            "[tasks.\"\"]\ncommand = \"x\"\n",
            NameKind::Task,
            NameProblem::Empty,
        ),
        (
            "[tasks.\"é\"]\ncommand = \"x\"\n",
            NameKind::Task,
            NameProblem::BadChar('é'),
        ),
        (
            "[tasks.a]\ncommand = \"x\"\naliases = [\"-b\"]\n",
            NameKind::Alias,
            NameProblem::LeadingDash,
        ),
        (
            "[tasks.a]\ncommand = \"x\"\naliases = [\"\"]\n",
            NameKind::Alias,
            NameProblem::Empty,
        ),
    ] {
        let error = error(source);
        assert!(
            matches!(error.kind(), ErrorKind::InvalidName { what: w, problem: p, .. } if *w == what && *p == problem),
            "{source}: {error:?}"
        );
    }
    parse("[tasks.\"db:migrate.up_2-x\"]\ncommand = \"x\"\naliases = [\"m\"]\n");
}

#[test]
fn alias_collisions() {
    let source = "[tasks.a]\ncommand = \"x\"\n[tasks.b]\ncommand = \"x\"\naliases = [\"a\"]\n";
    let error = error(source);
    assert_eq!(pointed_at(source, &error), "\"a\"");
    assert!(
        matches!(error.kind(), ErrorKind::AliasTaken { owner: AliasOwner::Task, first, .. } if first.start == 7)
    );

    let source = "[tasks.a]\ncommand = \"x\"\naliases = [\"x\"]\n[tasks.b]\ncommand = \"x\"\naliases = [\"x\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::AliasTaken { owner: AliasOwner::Alias { task }, .. } if task == "a"
    ));
    let source = "[tasks.a]\ncommand = \"x\"\naliases = [\"a\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::AliasTaken {
            owner: AliasOwner::Task,
            ..
        }
    ));
    let source = "[tasks.a]\ncommand = \"x\"\naliases = [\"x\", \"x\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::AliasTaken {
            owner: AliasOwner::Alias { .. },
            ..
        }
    ));
}

#[test]
fn grants_reject_empty_strings_and_bad_env_names() {
    let source = "[tasks.a]\nplugin = \"hello\"\nallow = { read = [\"\"] }\n";
    let error = error(source);
    assert!(matches!(error.kind(), ErrorKind::EmptyString { key } if key.key == "allow.read"));
    let source = "[tasks.a]\nplugin = \"hello\"\nallow = { env = [\"A=B\"] }\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::BadEnvName {
            problem: EnvNameProblem::ContainsEquals,
            ..
        }
    ));
    let source = "[tasks.a]\nplugin = \"hello\"\nenv = { \"A*\" = \"1\" }\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::BadEnvName {
            problem: EnvNameProblem::GlobInSet,
            ..
        }
    ));
    let source = "[tasks.a]\nplugin = \"hello\"\nenv = [\"\"]\n";
    assert!(matches!(
        self::error(source).kind(),
        ErrorKind::EmptyString { .. }
    ));
}

#[test]
fn config_numbers_must_fit_json() {
    let source = "[tasks.a]\nplugin = \"hello\"\nconfig = { x = inf }\n";
    let error = error(source);
    assert!(
        matches!(error.kind(), ErrorKind::Unrepresentable { key, .. } if key.key == "config.x")
    );
    let file = parse(
        "[tasks.a]\nplugin = \"hello\"\nconfig = { big = 0xff, neg = -3, nested = { deep = [[1]] } }\n",
    );
    assert!(matches!(
        &file.tasks[0].action,
        Action::Plugin { config, .. } if *config == json!({ "big": 255, "neg": -3, "nested": { "deep": [[1]] } })
    ));
}

#[test]
fn first_error_in_file_order() {
    let source = "[tasks.a]\ndescripton = \"x\"\n[tasks.b]\ncommand = 1\n";
    assert!(matches!(error(source).kind(), ErrorKind::UnknownKey { .. }));
}

#[test]
fn suggestions_never_name_the_task_itself() {
    let source = "[tasks.build]\ncommand = \"x\"\ndepends = [\"biuld\"]\n";
    assert!(matches!(
        error(source).kind(),
        ErrorKind::UnknownTask {
            suggestion: None,
            ..
        }
    ));
}

#[test]
fn duplicate_sub_tables_are_not_duplicate_tasks() {
    let source = "[tasks.allow]\ncommand = \"x\"\n[tasks.b]\nplugin = \"hello\"\n[tasks.b.allow]\nread = []\n[tasks.b.allow]\nwrite = []\n";
    assert!(matches!(error(source).kind(), ErrorKind::DuplicateKey { key } if key == "allow"));
}

// Authoring: private tasks, `.env`, `dir`, variables.

#[test]
fn private_tasks_by_key_or_leading_underscore() {
    let file = parse(
        "[tasks._setup]\ncommand = \"true\"\n[tasks.hidden]\ncommand = \"true\"\nprivate = true\n[tasks.build]\ncommand = \"true\"\ndepends = [\"_setup\", \"hidden\"]\n",
    );
    let private: Vec<_> = file.tasks.iter().map(|t| t.is_private()).collect();
    assert_eq!(private, [true, true, false]);
    let e = error("[tasks.x]\ncommand = \"true\"\nprivate = \"yes\"\n");
    assert!(matches!(e.kind(), ErrorKind::WrongType { .. }), "{e}");
}

#[test]
fn dir_stays_inside_the_project_and_is_for_commands_only() {
    let file = parse("[tasks.web]\ncommand = \"true\"\ndir = \"./web/../app\"\n");
    assert_eq!(
        file.tasks[0].dir.as_deref(),
        Some(Path::new("/project/web/../app"))
    );
    for dir in ["../elsewhere", "/etc", "a/../../b"] {
        let source = format!("[tasks.web]\ncommand = \"true\"\ndir = \"{dir}\"\n");
        let e = error(&source);
        assert!(
            matches!(e.kind(), ErrorKind::DirOutside { .. }),
            "{dir}: {e}"
        );
        assert_eq!(pointed_at(&source, &e), format!("\"{dir}\""));
    }
    let e =
        error("[tasks.g]\ndepends = [\"web\"]\ndir = \"web\"\n[tasks.web]\ncommand = \"true\"\n");
    assert!(matches!(e.kind(), ErrorKind::DirNotCommand { .. }), "{e}");
    let e = error("[tasks.p]\nplugin = \"hello\"\ndir = \"web\"\n");
    assert!(matches!(e.kind(), ErrorKind::DirNotCommand { .. }), "{e}");
}

#[test]
fn variables_expand_in_commands_descriptions_and_config_with_task_vars_first() {
    let file = parse(
        "[vars]\nimage = \"app\"\ntag = \"{{image}}:1\"\n\n[tasks.build]\ndescription = \"Build {{tag}}\"\ncommand = \"docker build -t {{tag}} {{where}} --format '{{.ID}}' {{{{x}}\"\nvars = { where = \".\", image = \"shadowed\" }\n\n[tasks.scan]\nplugin = \"hello\"\nconfig = { name = \"{{image}}\", list = [\"{{ tag }}\"] }\n",
    );
    assert_eq!(file.tasks[0].description.as_deref(), Some("Build app:1"));
    let Action::Command { lines } = &file.tasks[0].action else {
        panic!("not a command")
    };
    assert_eq!(lines, &["docker build -t app:1 . --format '{{.ID}}' {{x}}"]);
    let Action::Plugin { config, .. } = &file.tasks[1].action else {
        panic!("not a plugin")
    };
    assert_eq!(
        config,
        &serde_json::json!({ "name": "app", "list": ["app:1"] })
    );
}

#[test]
fn an_unknown_variable_is_pointed_at_with_a_suggestion() {
    let source = "[vars]\ntarget = \"all\"\n[tasks.build]\ncommand = \"make {{targte}}\"\n";
    let e = error(source);
    assert!(
        matches!(e.kind(), ErrorKind::UnknownVariable { name, suggestion: Some(s) } if name == "targte" && s == "target"),
        "{e}"
    );
    assert_eq!(pointed_at(source, &e), "{{targte}}");
    assert_eq!(e.line_column(), Some((4, 17)));
    let rendered = e.render(false);
    assert!(rendered.contains("did you mean `target`?"), "{rendered}");
    // A task's vars are not another task's.
    let e = error(
        "[tasks.a]\ncommand = \"true\"\nvars = { v = \"1\" }\n[tasks.b]\ncommand = \"echo {{v}}\"\n",
    );
    assert!(matches!(e.kind(), ErrorKind::UnknownVariable { .. }), "{e}");
    let e = error("[vars]\n\"1x\" = \"a\"\n");
    assert!(matches!(e.kind(), ErrorKind::BadVariableName { .. }), "{e}");
    let e = error("[tasks.a]\ncommand = \"echo {{env.RUN_SURELY_UNSET_4242}}\"\n");
    assert!(
        matches!(e.kind(), ErrorKind::UnsetEnvVariable { .. }),
        "{e}"
    );
}

#[test]
fn dotenv_beside_the_file_is_loaded_and_listed_files_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.toml");
    std::fs::write(dir.path().join(".env"), "A=from-dotenv\nB=b\n").unwrap();
    std::fs::write(dir.path().join("more.env"), "B=more\n").unwrap();
    let source = "[tasks.a]\ncommand = \"echo {{env.A}}\"\n";
    let file = super::parse(&path, source, BUILTINS).unwrap();
    assert_eq!(
        file.dotenv,
        [("A".into(), "from-dotenv".into()), ("B".into(), "b".into())]
    );
    let Action::Command { lines } = &file.tasks[0].action else {
        panic!()
    };
    assert_eq!(lines, &["echo from-dotenv"]);
    // Listed files replace the default, later ones overriding earlier ones.
    let source = "dotenv = [\".env\", \"more.env\"]\n[tasks.a]\ncommand = \"true\"\n";
    let file = super::parse(&path, source, BUILTINS).unwrap();
    assert_eq!(
        file.dotenv,
        [
            ("A".into(), "from-dotenv".into()),
            ("B".into(), "more".into())
        ]
    );
    let source = "dotenv = [\"missing.env\"]\n[tasks.a]\ncommand = \"true\"\n";
    let e = super::parse(&path, source, BUILTINS).unwrap_err();
    assert_eq!(pointed_at(source, &e), "\"missing.env\"");
    std::fs::write(dir.path().join(".env"), "A=1\nnot a line\n").unwrap();
    let e = super::parse(&path, "[tasks.a]\ncommand = \"true\"\n", BUILTINS).unwrap_err();
    assert_eq!(e.to_string(), ".env:2: expected `NAME=value`");
    // A misspelt setting gets a suggestion.
    let e = error("env-file = [\"x\"]\n");
    assert!(
        matches!(
            e.kind(),
            ErrorKind::UnknownKey {
                suggestion: Some("dotenv"),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn params_confirm_and_finally_are_checked_where_written() {
    let file = parse(
        "[tasks.deploy]\ncommand = \"echo $target\"\nparams = [{ name = \"target\", default = \"all\", help = \"what\" }, { name = \"files\", variadic = true }]\nconfirm = \"Really?\"\nfinally = \"echo done\"\n",
    );
    let task = &file.tasks[0];
    assert_eq!(task.params.len(), 2);
    assert!(task.params[1].variadic);
    assert_eq!(task.confirm.as_deref(), Some("Really?"));
    assert_eq!(task.finally, ["echo done"]);
    for (params, problem) in [
        (
            "[{ name = \"a\", variadic = true }, { name = \"b\" }]",
            "after the variadic",
        ),
        ("[{ name = \"a\" }, { name = \"a\" }]", "declared twice"),
        ("[{ name = \"a-b\" }]", "not a parameter name"),
        ("[{ name = \"a\", dflt = \"x\" }]", "unknown key `dflt`"),
    ] {
        let e = error(&format!(
            "[tasks.t]\ncommand = \"true\"\nparams = {params}\n"
        ));
        assert!(
            matches!(e.kind(), ErrorKind::BadParam { problem: p, .. } if p.contains(problem)),
            "{params}: {e}"
        );
    }
    let e = error("[tasks.p]\nplugin = \"hello\"\nconfirm = \"Sure?\"\n");
    assert!(
        matches!(e.kind(), ErrorKind::CommandOnly { key: "confirm", .. }),
        "{e}"
    );
    let e = error("[tasks.g]\ndepends = [\"p\"]\nfinally = \"x\"\n[tasks.p]\ncommand = \"true\"\n");
    assert!(
        matches!(e.kind(), ErrorKind::Ineffective { key: "finally", .. }),
        "{e}"
    );
}

#[test]
fn sources_and_generates_are_globs_inside_the_project() {
    let file = parse(
        "[tasks.b]\ncommand = \"true\"\nsources = [\"src/**/*.rs\"]\ngenerates = [\"out/app\"]\n",
    );
    assert_eq!(file.tasks[0].sources, ["src/**/*.rs"]);
    for pattern in ["src/[", "../x/*", "/etc/*"] {
        let source = format!("[tasks.b]\ncommand = \"true\"\nsources = [\"{pattern}\"]\n");
        let e = error(&source);
        assert!(
            matches!(e.kind(), ErrorKind::BadGlob { .. }),
            "{pattern}: {e}"
        );
        assert_eq!(pointed_at(&source, &e), format!("\"{pattern}\""));
    }
}

#[test]
fn included_files_are_namespaced_and_keep_their_own_paths_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("tasks.toml");
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    std::fs::write(
        dir.path().join("ci/tasks.toml"),
        "[tasks.lint]\ncommand = \"true\"\ndepends = [\"_prep\"]\n[tasks._prep]\ncommand = \"true\"\n[tasks.scan]\nplugin = \"hello\"\nallow = { read = [\"src\"] }\n",
    )
    .unwrap();
    let source = "include = [\"ci/tasks.toml\"]\n[tasks.all]\ndepends = [\"ci:lint\"]\n";
    let file = super::parse(&main, source, BUILTINS).unwrap();
    let names: Vec<_> = file.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["all", "ci:lint", "ci:_prep", "ci:scan"]);
    assert_eq!(file.tasks[1].depends[0].value, "ci:_prep");
    assert!(file.tasks[2].is_private());
    let ci = dir.path().canonicalize().unwrap().join("ci");
    assert_eq!(file.tasks[1].dir.as_deref(), Some(ci.as_path()));
    assert_eq!(file.tasks[3].allow.read, ["ci/src"]);
    // A mistake in the included file is reported in that file.
    std::fs::write(
        dir.path().join("ci/tasks.toml"),
        "[tasks.lint]\ncomand = \"true\"\n",
    )
    .unwrap();
    let e = super::parse(&main, source, BUILTINS).unwrap_err();
    let rendered = e.render(false);
    assert!(rendered.contains("ci/tasks.toml:2:"), "{rendered}");
    // Includes only reach down (no `..`), so they cannot loop but through
    // a symbolic link, which the depth limit stops.
    std::fs::write(
        dir.path().join("ci/tasks.toml"),
        "include = [\"again/tasks.toml\"]\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("ci"), dir.path().join("ci/again")).unwrap();
    let e = super::parse(&main, source, BUILTINS).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadInclude { .. }), "{e}");
    let e = error("include = [\"../x/tasks.toml\"]\n");
    assert!(matches!(e.kind(), ErrorKind::BadInclude { .. }), "{e}");
}
