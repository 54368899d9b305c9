//! Where a stress helper goes: into the target's own cgroup, so its load
//! counts against the target's CPU and memory limits (Pumba's `stress`).
//!
//! The host works the cgroup out from the granted, resolved target (its ID
//! and its own cgroup parent, from inspect) and from the engine's facts
//! (`/info`: cgroup driver and version, rootless), never from a plugin's
//! string. Only one layout lets a container hold another: cgroup v1 with the
//! cgroupfs driver, rootful, where the target's cgroup is a plain directory
//! (`/docker/<ID>`, Podman's `/libpod_parent/libpod-<ID>`) that a child
//! cgroup may go under. Everything else is refused, naming why.

use bollard::models::{SystemInfo, SystemInfoCgroupDriverEnum, SystemInfoCgroupVersionEnum};

use crate::capability::engine::backend::Product;
use crate::capability::engine::ids::ContainerId;

/// The engine's cgroup facts, as `/info` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub engine: &'static str,
    pub podman: bool,
    pub driver: String,
    pub version: String,
    pub rootless: bool,
}

impl Facts {
    pub fn of(product: &Product, info: &SystemInfo) -> Facts {
        let driver = match info.cgroup_driver {
            Some(SystemInfoCgroupDriverEnum::CGROUPFS) => "cgroupfs",
            Some(SystemInfoCgroupDriverEnum::SYSTEMD) => "systemd",
            Some(SystemInfoCgroupDriverEnum::NONE) => "none",
            Some(SystemInfoCgroupDriverEnum::EMPTY) | None => "",
        };
        let version = match info.cgroup_version {
            Some(SystemInfoCgroupVersionEnum::_1) => "1",
            Some(SystemInfoCgroupVersionEnum::_2) => "2",
            Some(SystemInfoCgroupVersionEnum::EMPTY) | None => "",
        };
        let rootless = info
            .security_options
            .iter()
            .flatten()
            .any(|o| o.split(',').any(|part| part == "name=rootless"));
        Facts {
            engine: product.name(),
            podman: matches!(product, Product::Podman { .. }),
            driver: driver.to_owned(),
            version: version.to_owned(),
            rootless,
        }
    }
}

/// The target's cgroup (the helper's cgroup parent), or why there is none
/// a helper can join. `id` is the target's full ID, `own_parent` the cgroup
/// parent the target was created with (empty: the engine's default).
pub fn target_cgroup(facts: &Facts, id: &str, own_parent: &str) -> Result<String, String> {
    if facts.rootless {
        return Err(format!(
            "{} runs rootless: its containers' cgroups belong to the user's delegated subtree, \
             where the engine cannot place one container inside another's cgroup",
            facts.engine
        ));
    }
    match facts.version.as_str() {
        "1" => {}
        "2" => {
            return Err(
                "cgroup v2 lets no cgroup that holds processes have child cgroups with controllers \
                 (the \"no internal processes\" rule), and the target's processes live in its own cgroup: \
                 a helper cannot be placed inside it unless the target delegates a subtree"
                    .to_owned(),
            );
        }
        other => {
            return Err(format!(
                "the engine does not say which cgroup version it uses (`{other}`)"
            ));
        }
    }
    let (default_parent, name) = if facts.podman {
        ("/libpod_parent", format!("libpod-{id}"))
    } else {
        ("/docker", id.to_owned())
    };
    match facts.driver.as_str() {
        "cgroupfs" => {}
        "systemd" => {
            let scope = if facts.podman {
                format!("machine.slice/libpod-{id}.scope")
            } else {
                format!("system.slice/docker-{id}.scope")
            };
            return Err(format!(
                "the systemd cgroup driver puts the target in the scope `{scope}`, and takes only a systemd \
                 slice (`NAME.slice`) as a cgroup parent: a helper cannot be placed inside a scope, so its \
                 load would not count against the target's limits"
            ));
        }
        other => {
            return Err(format!(
                "the engine's cgroup driver is `{other}`, not cgroupfs: it has no cgroup a helper can join"
            ));
        }
    }
    let parent = match own_parent.trim_end_matches('/') {
        "" => default_parent,
        p if p.starts_with('/') => p,
        p => {
            return Err(format!(
                "the target was created with the relative cgroup parent `{p}`, which the runtime resolves \
                 against its own cgroup: the host cannot tell where the target is"
            ));
        }
    };
    Ok(format!("{parent}/{name}"))
}

/// The container whose cgroup `parent` is (a stress helper's cgroup
/// parent): the ID ending it, `<ID>` or Podman's `libpod-<ID>`.
pub fn owner(parent: &str) -> Option<ContainerId> {
    let last = parent.trim_end_matches('/').rsplit('/').next()?;
    ContainerId::parse(last.strip_prefix("libpod-").unwrap_or(last))
}

/// Whether the cgroup `/proc/<pid>/cgroup` shows for the target's first
/// process is `expected` (read where the engine is local; a reader in
/// another cgroup namespace sees the path relative to its own root, so the
/// end of the path is compared). `None`: nothing to compare (no cpu line).
pub fn matches_proc(proc_cgroup: &str, expected: &str) -> Option<bool> {
    let path = proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers
            .split(',')
            .any(|c| c == "cpuacct" || c == "cpu")
            .then_some(path)
    })?;
    Some(path == expected || path.ends_with(expected))
}

/// stress-ng's command for the request's numbers (the only input).
pub fn command(
    cpu_workers: u32,
    cpu_load: u8,
    memory_bytes: u64,
    timeout_seconds: u32,
) -> Vec<String> {
    let mut command = vec!["stress-ng".to_owned()];
    if cpu_workers > 0 {
        command.extend([
            "--cpu".to_owned(),
            cpu_workers.to_string(),
            "--cpu-load".to_owned(),
            cpu_load.to_string(),
        ]);
    }
    if memory_bytes > 0 {
        command.extend([
            "--vm".to_owned(),
            "1".to_owned(),
            "--vm-bytes".to_owned(),
            memory_bytes.to_string(),
            "--vm-keep".to_owned(),
        ]);
    }
    command.extend([
        "--timeout".to_owned(),
        format!("{timeout_seconds}s"),
        "--metrics-brief".to_owned(),
    ]);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "b1cf003d7093c238636716719003a04142efafb719aa0234390a67bda14f4226";

    fn facts(podman: bool, driver: &str, version: &str, rootless: bool) -> Facts {
        Facts {
            engine: if podman { "podman" } else { "docker" },
            podman,
            driver: driver.into(),
            version: version.into(),
            rootless,
        }
    }

    #[test]
    fn cgroupfs_v1_places_the_helper_in_the_targets_own_cgroup() {
        let docker = facts(false, "cgroupfs", "1", false);
        assert_eq!(target_cgroup(&docker, ID, ""), Ok(format!("/docker/{ID}")));
        assert_eq!(target_cgroup(&docker, ID, "/ci/"), Ok(format!("/ci/{ID}")));
        let podman = facts(true, "cgroupfs", "1", false);
        assert_eq!(
            target_cgroup(&podman, ID, ""),
            Ok(format!("/libpod_parent/libpod-{ID}"))
        );
        assert_eq!(owner(&format!("/docker/{ID}")).unwrap().as_str(), ID);
        assert_eq!(
            owner(&format!("/libpod_parent/libpod-{ID}/"))
                .unwrap()
                .as_str(),
            ID
        );
        assert!(owner("/docker").is_none());
        assert!(owner(&format!("/docker/{ID}/../x")).is_none());
    }

    #[test]
    fn everything_else_is_refused_naming_why() {
        let why = |f: Facts, parent: &str| target_cgroup(&f, ID, parent).unwrap_err();
        assert!(why(facts(false, "cgroupfs", "2", false), "").contains("cgroup v2"));
        let systemd = why(facts(false, "systemd", "1", false), "");
        assert!(
            systemd.contains(&format!("system.slice/docker-{ID}.scope"))
                && systemd.contains("slice"),
            "{systemd}"
        );
        assert!(why(facts(true, "systemd", "1", false), "").contains("machine.slice/libpod-"));
        assert!(why(facts(false, "cgroupfs", "1", true), "").contains("rootless"));
        assert!(why(facts(false, "none", "1", false), "").contains("`none`"));
        assert!(why(facts(false, "cgroupfs", "", false), "").contains("which cgroup version"));
        assert!(why(facts(false, "cgroupfs", "1", false), "ci").contains("relative"));
    }

    #[test]
    fn the_engines_facts_are_read_from_info() {
        let info = SystemInfo {
            cgroup_driver: Some(SystemInfoCgroupDriverEnum::CGROUPFS),
            cgroup_version: Some(SystemInfoCgroupVersionEnum::_1),
            security_options: Some(vec![
                "name=seccomp,profile=default".into(),
                "name=rootless".into(),
            ]),
            ..Default::default()
        };
        assert_eq!(
            Facts::of(&Product::Docker, &info),
            facts(false, "cgroupfs", "1", true)
        );
        assert_eq!(
            Facts::of(
                &Product::Podman {
                    version: "4.3.1".into()
                },
                &SystemInfo::default()
            ),
            facts(true, "", "", false)
        );
    }

    #[test]
    fn proc_cgroup_is_compared_by_its_cpu_line() {
        let expected = format!("/docker/{ID}");
        let v1 =
            format!("9:name=systemd:/docker/{ID}\n2:cpuacct:/docker/{ID}\n1:cpu:/docker/{ID}\n");
        assert_eq!(matches_proc(&v1, &expected), Some(true));
        assert_eq!(
            matches_proc("3:cpu,cpuacct:/elsewhere/x\n", &expected),
            Some(false)
        );
        // Seen from another cgroup namespace: relative to its root.
        assert_eq!(
            matches_proc(&format!("4:cpu,cpuacct:/../../docker/{ID}\n"), &expected),
            Some(true)
        );
        assert_eq!(matches_proc("0::/init.scope\n", &expected), None);
    }

    #[test]
    fn the_command_is_written_from_the_numbers_only() {
        assert_eq!(
            command(2, 80, 256 << 20, 35).join(" "),
            "stress-ng --cpu 2 --cpu-load 80 --vm 1 --vm-bytes 268435456 --vm-keep --timeout 35s --metrics-brief"
        );
        assert_eq!(
            command(0, 100, 1024, 5).join(" "),
            "stress-ng --vm 1 --vm-bytes 1024 --vm-keep --timeout 5s --metrics-brief"
        );
    }
}
