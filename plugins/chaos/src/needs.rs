//! What a chaos task reaches, from its config and arguments alone (the
//! runner checks it before the task runs): the directory of its journal and
//! reports, the containers it names (targets given by name or glob, peers,
//! the containers of checks, drills and data checks), the helper image when a
//! network fault is made, and the addresses of `tcp`/`http` checks.
//!
//! What only the run can tell is left to the host's checks on every call:
//! targets chosen by label, `{ip}` addresses, and the faults a killed run
//! left in the journal.

use run_plugin_sdk::{Error, Grant};

use crate::check::Check;
use crate::fault::Kind;
use crate::spec::{Fields, Mode, Spec};

pub fn of(spec: &Spec) -> Result<Vec<Grant>, Error> {
    let mut needs = Needs(vec![Grant::write(&spec.dir)]);
    if spec.recover {
        return Ok(needs.0);
    }
    match spec.mode {
        Mode::Fault => needs.fault(spec, &spec.fields)?,
        Mode::Scenario => {
            for step in &spec.steps {
                needs.fault(spec, &spec.fields.overlay(step))?;
            }
        }
        Mode::VerifyData => {
            if let Some(verify) = &spec.verify {
                needs.container(&verify.container);
                if let Some(other) = &verify.against {
                    needs.container(other);
                }
            }
        }
        Mode::Drill => {
            if let Some(drill) = &spec.drill {
                for c in drill.containers() {
                    needs.container(c);
                }
                if let Some(from) = &drill.load_from {
                    needs.container(from);
                }
                // The drill's checks run on the members.
                for check in drill
                    .leader
                    .iter()
                    .chain(&drill.health)
                    .chain(&drill.primary_check)
                    .chain(&drill.replica)
                {
                    needs.address(check);
                }
                if let Some(routing) = &drill.routing {
                    needs.add(Grant::network(routing.address()));
                }
                if drill.fault == "partition"
                    && let Some(image) = &spec.helper_image
                {
                    needs.add(Grant::images(image));
                }
            }
        }
        Mode::SentinelDrill => {
            if let Some(drill) = &spec.sentinel {
                for c in drill.containers() {
                    needs.container(c);
                }
                if let Some(routing) = &drill.routing {
                    needs.add(Grant::network(routing.address()));
                }
                if drill.fault == "partition"
                    && let Some(image) = &spec.helper_image
                {
                    needs.add(Grant::images(image));
                }
            }
        }
    }
    Ok(needs.0)
}

/// Grants in declaration order, each once.
struct Needs(Vec<Grant>);

impl Needs {
    fn add(&mut self, grant: Grant) {
        if !self.0.contains(&grant) {
            self.0.push(grant);
        }
    }

    fn container(&mut self, name: &str) {
        self.add(Grant::containers(name));
    }

    /// A fault step, a wait step or a check step.
    fn fault(&mut self, spec: &Spec, fields: &Fields) -> Result<(), Error> {
        if let Some(check) = &fields.check {
            if let Some(container) = &check.container {
                self.container(container);
            }
            self.address(check);
            return Ok(());
        }
        if fields.wait.is_some() || fields.fault.is_none() {
            return Ok(());
        }
        // The fault is checked as a run checks it, so `run --dry-run` fails
        // on what the run would refuse.
        let kind = Kind::from_fields(fields)?;
        let hold = if kind.is_instant() {
            std::time::Duration::ZERO
        } else {
            crate::spec::fault_duration(fields)?
        };
        crate::spec::interval(fields, hold)?;
        crate::fault::Pick::from_fields(fields)?;
        if fields.target.is_none() {
            return Err(Error::invalid_input("name the containers with --target"));
        }
        // A label picks its targets at run time; a name or glob is granted as written.
        if let Some(target) = &fields.target
            && !target.starts_with("label=")
        {
            self.container(target);
        }
        if let Some(peer) = kind.peer()
            && peer.parse::<std::net::IpAddr>().is_err()
            && !peer.contains('/')
        {
            self.container(peer);
        }
        if kind.needs_helper()
            && let Some(image) = &spec.helper_image
        {
            self.add(Grant::images(image));
        }
        Ok(())
    }

    /// The `host:port` a `tcp` or `http` check connects to, unless it is a
    /// container's `{ip}`, known only at run time.
    fn address(&mut self, check: &Check) {
        let address = match (&check.tcp, &check.http) {
            (Some(tcp), _) => tcp.clone(),
            (None, Some(url)) => {
                let rest = url.strip_prefix("http://").unwrap_or(url);
                let host = rest.split('/').next().unwrap_or(rest);
                if host.contains(':') {
                    host.to_owned()
                } else {
                    format!("{host}:80")
                }
            }
            (None, None) => return,
        };
        if !address.contains("{ip}") {
            self.add(Grant::network(address));
        }
    }
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, Grant};

    use super::of;
    use crate::spec::Spec;

    fn needs(config: &str, args: &[&str]) -> Vec<Grant> {
        let args = args.iter().map(|a| a.to_string()).collect();
        of(&Spec::from_context(&Context::new("chaos", args, config)).unwrap()).unwrap()
    }

    #[test]
    fn a_network_fault_needs_its_target_and_the_helper_image() {
        assert_eq!(
            needs(
                r#"{"helper-image": "h:1"}"#,
                &[
                    "loss",
                    "--target",
                    "pg-*",
                    "--percent",
                    "30",
                    "--duration",
                    "5s"
                ]
            ),
            [
                Grant::write(".chaos"),
                Grant::containers("pg-*"),
                Grant::images("h:1")
            ]
        );
        // A pause needs no helper; a label picks targets at run time.
        assert_eq!(
            needs(
                r#"{"helper-image": "h:1", "dir": "state"}"#,
                &["pause", "--target", "label=role=db", "--duration", "5s"]
            ),
            [Grant::write("state")]
        );
    }

    #[test]
    fn a_stress_needs_its_target_and_the_helper_image() {
        assert_eq!(
            needs(
                r#"{"helper-image": "h:1"}"#,
                &["stress", "--target", "db", "--cpu", "1", "--duration", "5s"]
            ),
            [
                Grant::write(".chaos"),
                Grant::containers("db"),
                Grant::images("h:1")
            ]
        );
    }

    #[test]
    fn partitions_need_their_peer_and_recovery_only_the_directory() {
        assert_eq!(
            needs(
                r#"{"helper-image": "h:1"}"#,
                &[
                    "partition",
                    "--target",
                    "a",
                    "--peer",
                    "b",
                    "--duration",
                    "1s"
                ]
            ),
            [
                Grant::write(".chaos"),
                Grant::containers("a"),
                Grant::containers("b"),
                Grant::images("h:1")
            ]
        );
        assert_eq!(
            needs(r#"{"helper-image": "h:1"}"#, &["--recover"]),
            [Grant::write(".chaos")]
        );
    }

    #[test]
    fn scenarios_drills_and_data_checks_need_every_container_they_name() {
        let scenario = r#"{"mode": "scenario", "helper-image": "h:1", "steps": [
            {"fault": "loss", "target": "pg", "percent": 20, "duration": "10s"},
            {"fault": "pause", "target": "pg", "duration": "5s"},
            {"wait": "1s"},
            {"check": {"container": "pg", "sql": "SELECT true"}},
            {"check": {"http": "http://localhost:8008/leader"}}
        ]}"#;
        assert_eq!(
            needs(scenario, &[]),
            [
                Grant::write(".chaos"),
                Grant::containers("pg"),
                Grant::images("h:1"),
                Grant::network("localhost:8008")
            ]
        );
        let drill = r#"{"mode": "drill", "drill": {"primary": "p", "candidates": ["r1", "r2"],
            "load-from": "client", "leader": {"http": "http://{ip}:8008/leader"}}}"#;
        assert_eq!(
            needs(drill, &[]),
            [
                Grant::write(".chaos"),
                Grant::containers("p"),
                Grant::containers("r1"),
                Grant::containers("r2"),
                Grant::containers("client")
            ]
        );
        let verify = r#"{"mode": "verify-data", "verify": {"container": "p", "against": "r"}}"#;
        assert_eq!(
            needs(verify, &[]),
            [
                Grant::write(".chaos"),
                Grant::containers("p"),
                Grant::containers("r")
            ]
        );
    }
}
