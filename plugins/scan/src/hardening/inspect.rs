//! [`Settings`] from a container's inspect document (the engine's JSON, in
//! whatever state the container is: created, running, exited, paused).

use serde_json::Value;

use super::{At, Settings};

fn strings(v: &Value) -> Vec<At<String>> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
        .map(|s| At::new(s.to_owned(), None))
        .collect()
}

fn text(v: &Value) -> Option<At<String>> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .map(|s| At::new(s.to_owned(), None))
}

fn positive(v: &Value) -> bool {
    v.as_i64().is_some_and(|n| n > 0)
}

/// Reads the settings the rules check.
pub fn settings(inspect: &Value) -> Settings {
    let config = &inspect["Config"];
    let host = &inspect["HostConfig"];
    let env = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .filter_map(|kv| kv.split_once('='))
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, _)| At::new(name.to_owned(), None))
        .collect();
    // Bind mounts appear in `Mounts` (every state) and, as written, in
    // `HostConfig.Binds` (`SRC:DST[:OPTS]`) and `HostConfig.Mounts`.
    let mut binds: Vec<At<String>> = Vec::new();
    for m in inspect["Mounts"]
        .as_array()
        .into_iter()
        .chain(host["Mounts"].as_array())
        .flatten()
    {
        if m["Type"].as_str() == Some("bind")
            && let Some(source) = m["Source"].as_str()
        {
            binds.push(At::new(source.to_owned(), None));
        }
    }
    for b in host["Binds"].as_array().into_iter().flatten() {
        if let Some(source) = b.as_str().and_then(|b| b.split(':').next())
            && source.starts_with('/')
        {
            binds.push(At::new(source.to_owned(), None));
        }
    }
    binds.dedup();
    Settings {
        file: None,
        line: None,
        user: text(&config["User"]),
        privileged: host["Privileged"].as_bool().map(|b| At::new(b, None)),
        security_opt: strings(&host["SecurityOpt"]),
        cap_add: strings(&host["CapAdd"]),
        cap_drop: strings(&host["CapDrop"]),
        read_only: host["ReadonlyRootfs"].as_bool().map(|b| At::new(b, None)),
        memory_limited: positive(&host["Memory"]),
        cpu_limited: positive(&host["NanoCpus"]) || positive(&host["CpuQuota"]),
        pids_limited: positive(&host["PidsLimit"]),
        network_mode: text(&host["NetworkMode"]),
        pid_mode: text(&host["PidMode"]),
        ipc_mode: text(&host["IpcMode"]),
        uts_mode: text(&host["UTSMode"]),
        env,
        binds,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{RULES, audit};
    use super::*;
    use crate::finding::Finding;

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.id.as_str()).collect()
    }

    /// A container that keeps every rule: `docker run --read-only --cap-drop
    /// ALL --security-opt no-new-privileges --memory 64m --cpus 0.5
    /// --pids-limit 64 --user 1000`.
    fn hardened() -> Value {
        json!({
            "State": {"Status": "exited"},
            "Config": {"User": "1000", "Env": ["PATH=/bin", "POSTGRES_PASSWORD_FILE=/run/secrets/pg"]},
            "HostConfig": {"Privileged": false, "SecurityOpt": ["no-new-privileges"], "CapDrop": ["ALL"], "CapAdd": ["NET_BIND_SERVICE"],
                "ReadonlyRootfs": true, "Memory": 67108864, "NanoCpus": 500000000, "PidsLimit": 64,
                "NetworkMode": "bridge", "PidMode": "", "IpcMode": "private", "UTSMode": "", "Binds": ["/srv/data:/data:ro"]},
            "Mounts": [{"Type": "bind", "Source": "/srv/data", "Destination": "/data"}, {"Type": "volume", "Name": "v", "Source": "/var/lib/docker/volumes/v/_data"}]
        })
    }

    #[test]
    fn a_hardened_container_in_any_state_passes() {
        assert_eq!(ids(&audit("c", &settings(&hardened()))), Vec::<&str>::new());
    }

    /// Podman 4.3 inspects `--cap-drop ALL` as the default capabilities it
    /// dropped; one of them kept is not every capability dropped.
    #[test]
    fn podmans_cap_drop_all_is_every_default_capability_by_name() {
        let podmans = [
            "AUDIT_WRITE",
            "CHOWN",
            "DAC_OVERRIDE",
            "FOWNER",
            "FSETID",
            "KILL",
            "MKNOD",
            "NET_BIND_SERVICE",
            "NET_RAW",
            "SETFCAP",
            "SETGID",
            "SETPCAP",
            "SETUID",
            "SYS_CHROOT",
        ];
        let mut doc = hardened();
        doc["HostConfig"]["CapDrop"] = json!(podmans);
        assert_eq!(ids(&audit("c", &settings(&doc))), Vec::<&str>::new());
        // libpod's own spelling.
        doc["HostConfig"]["CapDrop"] = json!(podmans.map(|c| format!("CAP_{c}")));
        assert_eq!(ids(&audit("c", &settings(&doc))), Vec::<&str>::new());
        doc["HostConfig"]["CapDrop"] = json!(&podmans[1..]);
        assert_eq!(ids(&audit("c", &settings(&doc))), ["RUN-H004"]);
    }

    /// Each rule fires on one change to the hardened container, and on
    /// nothing else: every rule shown firing and not firing.
    #[test]
    fn each_rule_fires_alone() {
        let cases: Vec<(&str, &str, Value)> = vec![
            ("RUN-H001", "/Config/User", json!("root")),
            ("RUN-H002", "/HostConfig/Privileged", json!(true)),
            (
                "RUN-H003",
                "/HostConfig/SecurityOpt",
                json!(["no-new-privileges=false"]),
            ),
            ("RUN-H004", "/HostConfig/CapDrop", json!(["NET_RAW"])),
            ("RUN-H005", "/HostConfig/CapAdd", json!(["CAP_SYS_ADMIN"])),
            ("RUN-H006", "/HostConfig/ReadonlyRootfs", json!(false)),
            ("RUN-H007", "/HostConfig/Memory", json!(0)),
            ("RUN-H008", "/HostConfig/NanoCpus", json!(0)),
            ("RUN-H009", "/HostConfig/PidsLimit", json!(-1)),
            ("RUN-H010", "/HostConfig/NetworkMode", json!("host")),
            ("RUN-H011", "/HostConfig/PidMode", json!("host")),
            ("RUN-H012", "/Config/Env", json!(["DB_PASSWORD=x"])),
            (
                "RUN-H013",
                "/Mounts",
                json!([{"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock"}]),
            ),
            (
                "RUN-H013",
                "/HostConfig/Binds",
                json!(["/run/podman/podman.sock:/var/run/docker.sock"]),
            ),
            ("RUN-H014", "/HostConfig/Binds", json!(["/:/host:ro"])),
            (
                "RUN-H015",
                "/HostConfig/SecurityOpt",
                json!(["no-new-privileges", "seccomp=unconfined"]),
            ),
            (
                "RUN-H016",
                "/HostConfig/SecurityOpt",
                json!(["no-new-privileges:true", "apparmor:unconfined"]),
            ),
            ("RUN-H017", "/HostConfig/IpcMode", json!("host")),
            ("RUN-H018", "/HostConfig/UTSMode", json!("host")),
        ];
        let mut covered: Vec<&str> = Vec::new();
        for (rule, pointer, value) in &cases {
            let mut doc = hardened();
            *doc.pointer_mut(pointer).expect(pointer) = value.clone();
            let found = audit("c", &settings(&doc));
            assert_eq!(ids(&found), [*rule], "{rule}");
            assert!(found[0].location.is_none());
            covered.push(rule);
        }
        for (id, _, _) in RULES {
            assert!(covered.contains(&id), "{id} has no test");
        }
    }

    #[test]
    fn a_default_container_breaks_most_rules() {
        let doc = json!({
            "Config": {"User": "", "Env": ["PATH=/bin", "POSTGRES_PASSWORD=secret", "PGDATA=/x", "API_TOKEN=t", "PASSWORD_FILE=/run/s"]},
            "HostConfig": {"Privileged": false, "SecurityOpt": null, "CapDrop": null, "CapAdd": ["NET_ADMIN"], "ReadonlyRootfs": false,
                "Memory": 0, "NanoCpus": 0, "CpuQuota": 0, "PidsLimit": null, "NetworkMode": "host", "PidMode": ""}
        });
        let f = audit("c", &settings(&doc));
        assert_eq!(
            ids(&f),
            [
                "RUN-H001", "RUN-H003", "RUN-H004", "RUN-H005", "RUN-H006", "RUN-H007", "RUN-H008",
                "RUN-H009", "RUN-H010", "RUN-H012"
            ]
        );
        let secrets = f.iter().find(|f| f.id == "RUN-H012").unwrap();
        assert!(
            secrets.title.contains("POSTGRES_PASSWORD, API_TOKEN"),
            "{}",
            secrets.title
        );
        assert!(!secrets.title.contains("secret,") && !secrets.title.contains("PASSWORD_FILE"));
    }
}
