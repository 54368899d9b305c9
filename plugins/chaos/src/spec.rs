//! What to do: the task's `config` table merged with the command line.
//!
//! Every fault option can be set in tasks.toml (defaults for the task) and on
//! the command line (`run chaos loss --target db --percent 30 --duration 60s`),
//! which wins. Scenario steps use the same keys.

use std::time::Duration;

use run_plugin_sdk::{Context, Error, names};
use serde::Deserialize;
use serde_json::Value;

use crate::duration;

/// Keys of `config` besides the fault options.
const TASK_KEYS: &[&str] = &[
    "dir",
    "helper-image",
    "mode",
    "steps",
    "verify",
    "drill",
    "sentinel",
];

/// Flags that take no value on the command line.
const FLAGS: &[&str] = &["recover", "random", "reject", "json", "save"];

/// One fault (or a wait or a check), as written in config, a step or the CLI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Fields {
    pub fault: Option<String>,
    pub target: Option<String>,
    pub duration: Option<String>,
    pub percent: Option<f64>,
    pub delay: Option<String>,
    pub jitter: Option<String>,
    pub rate: Option<String>,
    pub peer: Option<String>,
    pub port: Option<Vec<u16>>,
    pub signal: Option<String>,
    pub random: Option<bool>,
    pub reject: Option<bool>,
    /// netem: how much each random choice depends on the last (percent).
    pub correlation: Option<f64>,
    /// delay: the jitter's distribution (netem: uniform, normal, pareto, paretonormal).
    pub distribution: Option<String>,
    /// partition: `in`, `out` or `both` (default).
    pub direction: Option<String>,
    /// Repeat the fault every interval (apply, hold --duration, undo) until
    /// the run is stopped; targets are picked again each time.
    pub interval: Option<String>,
    /// How many of the matching targets: a count (`2`) or a share (`50%`), at random.
    pub pick: Option<String>,
    /// stress: CPU workers (stress-ng `--cpu`).
    pub cpu: Option<u32>,
    /// stress: each CPU worker's load in percent (default 100).
    pub cpu_load: Option<f64>,
    /// stress: memory to allocate and keep touching (`256m`, `1g`, bytes).
    pub memory: Option<String>,
    /// A scenario step that only waits.
    pub wait: Option<String>,
    /// A scenario step that checks something (fails the scenario if it fails).
    pub check: Option<crate::check::Check>,
}

impl Fields {
    /// `self` with every value `over` sets replaced.
    pub fn overlay(&self, over: &Fields) -> Fields {
        macro_rules! pick {
            ($($f:ident),*) => { Fields { $($f: over.$f.clone().or_else(|| self.$f.clone()),)* } };
        }
        pick!(
            fault,
            target,
            duration,
            percent,
            delay,
            jitter,
            rate,
            peer,
            port,
            signal,
            random,
            reject,
            correlation,
            distribution,
            direction,
            interval,
            pick,
            cpu,
            cpu_load,
            memory,
            wait,
            check
        )
    }
}

/// What the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// One fault from config and the command line.
    #[default]
    Fault,
    /// The `steps` in order.
    Scenario,
    /// Row counts and checksums against a saved baseline.
    VerifyData,
    /// A failover drill (`drill` table).
    Drill,
    /// A Redis Sentinel failover drill (`sentinel` table).
    SentinelDrill,
}

/// The whole request.
#[derive(Debug, Clone)]
pub struct Spec {
    pub dir: String,
    pub helper_image: Option<String>,
    pub mode: Mode,
    pub fields: Fields,
    pub steps: Vec<Fields>,
    pub verify: Option<crate::verify::VerifyConfig>,
    pub drill: Option<crate::drill::DrillConfig>,
    pub sentinel: Option<crate::sentinel::SentinelConfig>,
    pub recover: bool,
    pub json: bool,
    pub save: bool,
}

impl Spec {
    pub fn from_context(ctx: &Context) -> Result<Spec, Error> {
        let task = ctx.task();
        let Value::Object(mut map) = ctx.config_value()? else {
            return Err(Error::invalid_input(format!(
                "the config of task `{task}` must be a table"
            )));
        };
        let mut take = |key: &str| map.remove(key);
        let dir = match take("dir") {
            None => ".chaos".to_owned(),
            Some(Value::String(s)) => s,
            Some(_) => return Err(ctx.invalid_config("dir", "must be a directory name")),
        };
        let dir = names::relative_dir(&dir).ok_or_else(|| {
            ctx.invalid_config("dir", "must be a relative directory granted in allow.write")
        })?;
        let helper_image = match take("helper-image") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(ctx.invalid_config("helper-image", "must be an image name")),
        };
        let mode: Option<Mode> = parse(ctx, "mode", take("mode"))?;
        let steps: Option<Vec<Fields>> = parse(ctx, "steps", take("steps"))?;
        let verify = parse(ctx, "verify", take("verify"))?;
        let mut drill: Option<crate::drill::DrillConfig> = parse(ctx, "drill", take("drill"))?;
        let mut sentinel: Option<crate::sentinel::SentinelConfig> =
            parse(ctx, "sentinel", take("sentinel"))?;
        debug_assert!(TASK_KEYS.iter().all(|k| !map.contains_key(*k)));
        let config_fields: Fields = serde_json::from_value(Value::Object(map)).map_err(|e| {
            Error::invalid_input(format!(
                "invalid config for task `{task}`: {e} (see docs/chaos.md)"
            ))
        })?;
        let (cli, positional, recover, json, save) = parse_args(ctx.args())?;
        let mut fields = config_fields.overlay(&cli);
        let mut mode = mode.unwrap_or_default();
        if let Some(word) = positional {
            match word.as_str() {
                "verify-data" => mode = Mode::VerifyData,
                "drill" => mode = Mode::Drill,
                "sentinel-drill" => mode = Mode::SentinelDrill,
                "scenario" => mode = Mode::Scenario,
                // `run test-failover partition`: the drill's fault.
                _ if matches!(mode, Mode::Drill | Mode::SentinelDrill) => {
                    if let Some(d) = drill.as_mut() {
                        d.fault = word.clone();
                    }
                    if let Some(d) = sentinel.as_mut() {
                        d.fault = word;
                    }
                }
                _ => {
                    mode = Mode::Fault;
                    fields.fault = Some(word);
                }
            }
        }
        let spec = Spec {
            dir,
            helper_image: cli_image(ctx).or(helper_image),
            mode,
            fields,
            steps: steps.unwrap_or_default(),
            verify,
            drill,
            sentinel,
            recover,
            json,
            save,
        };
        if spec.mode == Mode::Scenario && spec.steps.is_empty() && !spec.recover {
            return Err(ctx.invalid_config("steps", "a scenario needs at least one step"));
        }
        Ok(spec)
    }

    pub fn path(&self, file: &str) -> String {
        format!("{}/{file}", self.dir)
    }
}

fn cli_image(ctx: &Context) -> Option<String> {
    ctx.option("helper-image").map(str::to_owned)
}

fn parse<T: serde::de::DeserializeOwned>(
    ctx: &Context,
    key: &str,
    value: Option<Value>,
) -> Result<Option<T>, Error> {
    value
        .map(|v| serde_json::from_value(v).map_err(|e| ctx.invalid_config(key, e)))
        .transpose()
}

type Args = (Fields, Option<String>, bool, bool, bool);

/// `[FAULT] [--option VALUE | --option=VALUE | --flag]...`
fn parse_args(args: &[String]) -> Result<Args, Error> {
    let mut fields = Fields::default();
    let mut positional = None;
    let (mut recover, mut json, mut save) = (false, false, false);
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(option) = arg.strip_prefix("--") else {
            if positional.replace(arg.clone()).is_some() {
                return Err(Error::invalid_input(format!(
                    "unexpected argument `{arg}`: give one fault"
                )));
            }
            continue;
        };
        let (name, inline) = match option.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (option, None),
        };
        if FLAGS.contains(&name) {
            let on = inline.as_deref().is_none_or(|v| v != "false");
            match name {
                "recover" => recover = on,
                "json" => json = on,
                "save" => save = on,
                "random" => fields.random = Some(on),
                _ => fields.reject = Some(on),
            }
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args
                    .get(i)
                    .cloned()
                    .ok_or_else(|| Error::invalid_input(format!("--{name} needs a value")))?;
                i += 1;
                v
            }
        };
        let number = |v: &str| {
            v.trim_end_matches('%')
                .parse::<f64>()
                .map_err(|_| Error::invalid_input(format!("--{name}: `{v}` is not a number")))
        };
        match name {
            "target" => fields.target = Some(value),
            "duration" => fields.duration = Some(value),
            "percent" => fields.percent = Some(number(&value)?),
            "delay" => fields.delay = Some(value),
            "jitter" => fields.jitter = Some(value),
            "rate" => fields.rate = Some(value),
            "peer" => fields.peer = Some(value),
            "signal" => fields.signal = Some(value),
            "correlation" => fields.correlation = Some(number(&value)?),
            "distribution" => fields.distribution = Some(value),
            "direction" => fields.direction = Some(value),
            "interval" => fields.interval = Some(value),
            "pick" => fields.pick = Some(value),
            "cpu" => {
                fields.cpu = Some(value.parse().map_err(|_| {
                    Error::invalid_input(format!("--cpu: `{value}` is not a number of CPU workers"))
                })?)
            }
            "cpu-load" => fields.cpu_load = Some(number(&value)?),
            "memory" => fields.memory = Some(value),
            "helper-image" => {}
            "port" => {
                let ports = value
                    .split(',')
                    .map(|p| {
                        p.trim().parse::<u16>().map_err(|_| {
                            Error::invalid_input(format!("--port: `{p}` is not a port"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                fields.port = Some(ports);
            }
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown option `--{other}` (run `run TASK --help` for the options)"
                )));
            }
        }
    }
    Ok((fields, positional, recover, json, save))
}

/// `--interval`, if given: longer than the fault's duration.
pub fn interval(fields: &Fields, hold: Duration) -> Result<Option<Duration>, Error> {
    let Some(text) = fields.interval.as_deref() else {
        return Ok(None);
    };
    let every =
        duration::parse(text).map_err(|e| Error::invalid_input(format!("--interval: {e}")))?;
    if every <= hold {
        return Err(Error::invalid_input(format!(
            "--interval {text} must be longer than --duration ({}): each round applies the fault, holds it and undoes it",
            duration::show(hold)
        )));
    }
    Ok(Some(every))
}

/// The fault's duration; faults without one are refused (nothing may stay broken).
pub fn fault_duration(fields: &Fields) -> Result<Duration, Error> {
    let text = fields.duration.as_deref().ok_or_else(|| {
        Error::invalid_input(
            "a fault needs --duration (e.g. --duration 60s): every fault is undone when it ends",
        )
    })?;
    duration::parse(text).map_err(|e| Error::invalid_input(format!("--duration: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: &str, args: &[&str]) -> Result<Spec, Error> {
        Spec::from_context(&Context::new(
            "chaos",
            args.iter().map(|a| a.to_string()).collect(),
            config,
        ))
    }

    #[test]
    fn command_line_overrides_config() {
        let s = spec(
            r#"{"target": "db", "duration": "10s", "helper-image": "h:1"}"#,
            &["loss", "--percent", "30", "--duration=5s", "--random"],
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Fault);
        assert_eq!(s.fields.fault.as_deref(), Some("loss"));
        assert_eq!(s.fields.target.as_deref(), Some("db"));
        assert_eq!(s.fields.duration.as_deref(), Some("5s"));
        assert_eq!(s.fields.percent, Some(30.0));
        assert_eq!(s.fields.random, Some(true));
        assert_eq!(s.helper_image.as_deref(), Some("h:1"));
        assert_eq!(s.dir, ".chaos");
    }

    #[test]
    fn words_pick_modes_and_flags() {
        assert_eq!(
            spec("{}", &["verify-data", "--save"]).unwrap().mode,
            Mode::VerifyData
        );
        assert!(spec("{}", &["--recover"]).unwrap().recover);
        let stress = spec(
            r#"{"memory": "64m"}"#,
            &["stress", "--cpu", "2", "--cpu-load=80%", "--duration", "5s"],
        )
        .unwrap();
        assert_eq!(stress.fields.fault.as_deref(), Some("stress"));
        assert_eq!(stress.fields.cpu, Some(2));
        assert_eq!(stress.fields.cpu_load, Some(80.0));
        assert_eq!(stress.fields.memory.as_deref(), Some("64m"));
        assert!(
            spec("{}", &["stress", "--cpu", "-1"])
                .unwrap_err()
                .message()
                .contains("--cpu")
        );
        assert_eq!(
            spec("{}", &["delay", "--port", "80,443"])
                .unwrap()
                .fields
                .port,
            Some(vec![80, 443])
        );
    }

    #[test]
    fn bad_input_is_named() {
        let e = spec(r#"{"percnt": 3}"#, &[]).unwrap_err();
        assert!(e.message().contains("percnt"), "{e}");
        let e = spec("{}", &["loss", "--bogus", "1"]).unwrap_err();
        assert!(e.message().contains("--bogus"), "{e}");
        let e = spec(r#"{"dir": "../x"}"#, &[]).unwrap_err();
        assert!(e.message().contains("field `dir`"), "{e}");
        let e = spec("{}", &["loss", "--percent", "lots"]).unwrap_err();
        assert!(e.message().contains("not a number"), "{e}");
    }
}
